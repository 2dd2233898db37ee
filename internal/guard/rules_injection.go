package guard

import "sync"

// imperative anchors an instruction verb at the start of a sentence, a
// line or a quoted span, or after a softener, so that reported speech
// ("my manager told me to ignore the previous instructions") does not fire.
const imperative = `(?:^|[.!?:;\n"'\-*#>\]\)}=]\s*|\b(?:please|now|just|so|and|then|also|first|simply|kindly)\s+|,\s*)`

// imperativePre is imperative for the bytes before an anchored literal.
const imperativePre = `(?:^\s*|[.!?:;\n"'\-*#>\]\)}=\x00]\s*|\b(?:please|now|just|so|and|then|also|first|simply|kindly)\s+|,\s*)`

// promptWords names a model's instructions after "your" or "the", with up
// to three qualifiers ("your full original system prompt").
const promptWords = `(?:(?:full|entire|exact|complete|original|initial|hidden|secret|first|starting|system|developer|pre-?|confidential|configuration|internal|real)\s+){0,3}(?:system prompt|system message|developer message|pre-?prompt|prompt|instructions|guidelines|directives|rules you were given)\b`

// promptAbove points at the text before the user's message.
const promptAbove = `\b(?:instructions|text|words|everything|content|message)s?\s+(?:you were given|above|before (?:this|my)|preceding)`

// injectionRules detect direct prompt injection and jailbreaks in system,
// user and assistant messages, compiled on first use.
func injectionRules() []rule {
	return []rule{
		anchored("PI-001", "direct_injection",
			[]string{"ignore", "disregard", "forget", "override", "skip", "abandon", "bypass", "drop", "discard", "set aside", "stop following", "do not follow", "don't follow", "never mind"},
			imperativePre,
			`(?:ignore|disregard|forget(?: about)?|override|skip|abandon|bypass|drop|discard|set aside|stop following|do not follow|don't follow|never mind)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|original|initial|system|developer|safety|existing|old|all|any)\b[^.\n]{0,25}?\b(?:instructions?|directions?|rules|guidelines|prompts?|commands?|constraints|policies|guardrails|programming|context|orders|directives)\b`),
		anchored("PI-002", "prompt_extraction",
			[]string{"print", "repeat", "output", "reveal", "show", "display", "dump", "tell me", "write out", "leak", "recite", "echo", "give me", "share", "expose", "list", "encode", "translate", "spell out"},
			``,
			`(?:print|repeat|output|reveal|show|display|dump|tell me|write out|leak|recite|echo|give me|share|expose|list|encode|translate|spell out)\b[^.\n]{0,40}?(?:\b(?:your|the)\s+`+promptWords+`|`+promptAbove+`)`).
			with(`\byour\b|\babove\b|before (?:this|my)|\bsystem prompt\b|you were given`),
		// A question asks for this conversation's prompt when it says "your",
		// points above, or ends at "the system prompt" ("what is the system
		// prompt?"); a question about system prompts in general ("what is the
		// system prompt of a chatbot?") is not an extraction.
		anchored("PI-002", "prompt_extraction",
			[]string{"what is", "what are", "what was", "what were", "what's"},
			``,
			`(?:what (?:is|are|was|were)|what's)\b[^.\n]{0,40}?(?:\byour\s+`+promptWords+`|\bthe\s+`+promptWords+`\s*(?:[?.!]|$|\b(?:here|now|in this (?:chat|conversation)|you (?:have|were given|got|use|are using|follow))\b)|`+promptAbove+`)`),
		newRule("PI-003", "direct_injection",
			[]string{"new", "real", "actual", "updated", "true"},
			imperative+`(?:(?:your|the|my)\s+)?(?:new|updated|real|actual|true)\s+(?:instructions?|task|objective|goal|orders|directives?)\s*(?:is|are|:)`),
		newRule("PI-004", "direct_injection",
			[]string{"im_start", "[inst]", "<<sys>>", "<system>", "</system>", "system override", "system notice", "system message:", "admin override", "developer mode]", "end of user input", "<|"},
			`<\|im_start\|>\s*system|\[/?inst\]|<<sys>>|</?system>|\bsystem (?:override|notice)\b|\bsystem message\s*:|\badmin(?:istrator)? override\b|\[developer mode\]|end of (?:user )?input|<\|(?:system|endoftext|eot_id|start_header_id)\|>`),
		// An order to switch the model into a mode without rules. "Developer
		// mode" on a device ("enable developer mode on my phone") is not one.
		anchored("JB-007", "jailbreak",
			[]string{"enable", "activate", "enter", "switch", "turn on", "unlock", "engage", "go into"},
			imperativePre,
			`(?:enable|activate|enter|switch (?:to|into|on)|turn on|unlock|engage|go into)\s+(?:the\s+)?(?:god|jailbreak|jailbroken|unrestricted|uncensored|unfiltered|dan|evil|chaos|developer|dev)\s+mode\b`).
			except(`\s*(?:on|in|for|of)\b`),
		// An order to turn off the model's own safeguards.
		anchored("PI-005", "direct_injection",
			[]string{"disable", "turn off", "deactivate", "remove", "switch off", "lift", "drop"},
			imperativePre,
			`(?:disable|turn off|deactivate|remove|switch off|lift|drop)\s+(?:all\s+(?:of\s+)?)?your\s+(?:(?:content|safety|ethical|moral)\s+)?(?:filters?|filtering|safety(?: features| settings| guidelines| rules| filters?)?|safeguards|guardrails|restrictions|guidelines|censorship|moderation|limitations|limits)\b`),
		newRule("JB-001", "jailbreak",
			[]string{"dan", "stan", "dude", "aim", "do anything now", "jailbr"},
			`\b(?:you are|you're|act as|acting as|pretend to be|you will be|become|roleplay as|role-play as|simulate|called|named)\s+(?:a |an |the )?(?:dan|stan|dude|aim|anti-?dan|evil-?bot|dev-?mode|jailbreak(?:ed)?(?: ai| version| mode)?)\b|\bdan mode\b|\bstay (?:in character|as dan)\b|\bdo anything now\b[^?]{0,200}\b(?:you|your)\b|\[🔓\s*jailbreak\]|\bjailbroken\b`),
		anchored("JB-002", "jailbreak",
			[]string{"developer mode"},
			``,
			`developer mode (?:enabled|output|v2)\b|developer mode\b[^.\n]{0,60}\b(?:chatgpt|openai|policies|censor|uncensored|any kind of content)\b`),
		anchored("JB-002", "jailbreak",
			[]string{"act", "simulate", "pretend", "behave"},
			``,
			`(?:act|simulate|pretend|behave)\b[^.\n]{0,40}\bdeveloper mode\b`),
		newRule("JB-003", "jailbreak",
			[]string{"restriction", "filter", "guideline", "censor", "limitation", "polic", "rules", "boundar", "ethic", "moral"},
			`\b(?:no|without|free (?:of|from)|not bound by|don't have|do not have|doesn't have|ignores?|breaks?|bypass(?:es)?|beyond|unrestricted by)\s+(?:any\s+)?(?:ethical|moral|content|safety|openai'?s?|programming|usual)?\s*(?:restrictions?|filters?|filtering|guidelines|censorship|limitations|policies|rules|boundaries|principles|ethics|morals)\b`).
			with(`\b(?:you are|you're|act as|pretend|roleplay|role-play|from now on|in character|persona|hypothetical|you will|simulate|imagine)\b`),
		newRule("JB-004", "jailbreak",
			[]string{"refuse", "sorry", "apolog", "warning", "disclaimer", "decline", "cannot"},
			`\b(?:never|do not|don't|must not|will not|won't|can ?not|shall not|not allowed to|unable to)\s+(?:ever\s+)?(?:refuse|decline|deny|say (?:that )?(?:you can't|you cannot|i'm sorry|sorry|i can't)|apologi[sz]e|include (?:any )?(?:warnings?|disclaimers?|moral)|add (?:any )?(?:warnings?|disclaimers?))`).
			with(`\b(?:you are|you're|act as|pretend|roleplay|role-play|from now on|in character|persona|you will|respond as|answer as|simulate)\b`),
		newRule("JB-005", "jailbreak",
			[]string{"amoral", "unfiltered", "uncensored", "unethical", "immoral"},
			`\b(?:completely |totally |an? )?(?:amoral|unfiltered|uncensored|unethical|immoral|unrestricted)\s+(?:ai|chatbot|assistant|model|character|persona|version|mode|language model|bot)\b`),
		newRule("JB-006", "jailbreak",
			[]string{"regardless", "no matter", "despite", "even if"},
			`\b(?:regardless of|no matter|despite|even if)\s+(?:its |the |any |how |what |whether )?(?:ethical|legal|moral|ethics|legality|morality|consequences|illegal|harmful|unethical|dangerous|offensive|inappropriate)`).
			with(`\b(?:you are|you're|act as|pretend|roleplay|role-play|from now on|in character|persona|you will|respond as|answer as|simulate|character named|named|called)\b`),
	}
}

// injectionSet and documentSet index the rules for one-pass matching,
// built on first use.
var (
	injectionSet = sync.OnceValue(func() *ruleSet { return newRuleSet(injectionRules()) })
	documentSet  = sync.OnceValue(func() *ruleSet { return newRuleSet(documentRules()) })
)

// documentRules detect instructions aimed at the model inside tool
// results and retrieved documents (indirect injection), compiled on
// first use.
func documentRules() []rule {
	return []rule{
		anchored("PI-101", "indirect_injection",
			[]string{"ai", "assistant", "language model", "llm", "chatgpt", "gpt", "model", "agent", "chatbot", "bot"},
			`(?:^|[^a-z0-9])`,
			`(?:ai|assistant|language model|llm|chatgpt|gpt|model|agent|chatbot|bot)\b(?:\s+reading this)?\s*[,:]\s*(?:please\s+|silently\s+|before answering,?\s+)?(?:ignore|disregard|do not|don't|you must|instead|respond|reply|say|tell|include|send|forward|append|ask|run|execute|rate|summari[sz]e|write|output|recommend|click|visit)\b`),
		anchored("PI-102", "indirect_injection",
			[]string{"note", "instruction", "message", "attention", "important"},
			``,
			`(?:note|instructions?|message|attention|important)\s+(?:to|for)\s+(?:the |any )?(?:ai|assistant|model|llm|language model|chatbot|agent)s?\b|attention,? (?:ai|assistant|language model|llm)\b`),
		anchored("PI-103", "indirect_injection",
			[]string{"when", "before", "after", "while"},
			``,
			`(?:when|before|after|while) (?:you )?(?:answer|answering|summari[sz]e|summari[sz]ing|respond|responding|reply|replying)\b[^.\n]{0,60}\b(?:also|instead|must|include|say that|tell the (?:user|reader)|append|send|recommend)\b`),
	}
}
