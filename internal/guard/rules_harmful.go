package guard

import "sync"

// categoryNames are Llama Guard 3's hazard categories.
var categoryNames = map[string]string{
	"S1": "violent_crimes", "S2": "non_violent_crimes", "S3": "sex_related_crimes",
	"S4": "child_sexual_exploitation", "S5": "defamation", "S6": "specialized_advice",
	"S7": "privacy", "S8": "intellectual_property", "S9": "indiscriminate_weapons",
	"S10": "hate", "S11": "suicide_self_harm", "S12": "sexual_content",
	"S13": "elections", "S14": "code_interpreter_abuse",
}

// howTo is a request for instructions or help.
const howTo = `(?:how (?:do|can|could|would|should|to|might) (?:i |you |we |one |someone )?|ways? to |best way to |steps? to |instructions? (?:for|on|to) |guide (?:to|for|on) |help me |teach me (?:how )?to |tutorial (?:on|for) |explain how to |tips (?:for|on) |tell me how to |plan to |i want to |going to )`

// victim is a person as the object of a violent verb, so that "kill a
// process" does not read as violence.
const victim = `(?:someone|somebody|people|persons?|him|her|them|my (?:wife|husband|boss|neighbou?r|teacher|parents?|mother|father|mom|dad|brother|sister|ex|friend|classmate|coworker|girlfriend|boyfriend)|(?:a|an|the|my|his|her) (?:person|child|kid|baby|man|woman|girl|boy|cop|police officer|president|politician|teacher|neighbou?r|(?:\w+[- ])?year[- ]old|\w+ child)|children|kids|a crowd)\b`

// harmfulRules flag requests in the Llama Guard 3 categories. Rules only
// catch the explicit forms; the classifier covers paraphrase. The rules
// are compiled on first use, not at package init: a gateway without guard
// stages never pays for them.
func harmfulRules() []rule {
	return []rule{
		newRule("HR-S9", "S9", []string{"bomb", "explosive", "ied", "nerve", "sarin", "ricin", "anthrax", "weapon", "mustard gas", "uranium", "plutonium", "napalm", "thermite", "ghost gun", "untraceable", "pathogen", "bioweapon", "warfare", "toxin", "vx"},
			`\b(?:make|build|synthesi[sz]e|produce|create|assemble|manufacture|obtain|culture|weaponi[sz]e|acquire|buy|detonate|deploy|spread|release)\b[^.?]{0,50}\b(?:bombs?|explosives?|ieds?|pipe bombs?|nerve agents?|sarin|vx|mustard gas|ricin|anthrax|bio-?weapons?|biological (?:weapons?|warfare agents?)|chemical (?:weapons?|warfare agents?)|dirty bombs?|nuclear (?:weapons?|device|bomb)|enriched uranium|weapons-grade|plutonium|napalm|thermite|ghost guns?|untraceable (?:guns?|firearms?)|botulinum toxin|pathogens? (?:for|as) (?:a )?weapons?)\b`),
		newRule("HR-S4", "S4", []string{"child", "minor", "underage", "kid", "year old", "year-old", "csam", "loli"},
			`\b(?:sexual|sexy|erotic|porn\w*|nude|naked|explicit|lewd)\s+(?:\w+\s+){0,2}(?:story|stories|content|images?|photos?|pictures?|videos?|roleplay|scenes?|fantas(?:y|ies))\s+(?:of|about|involving|with|featuring)\s+(?:a\s+|an\s+)?(?:child|children|minors?|kids?|underage|(?:\d|1\d)[- ]year[- ]olds?|little (?:girl|boy)s?)\b|\bcsam\b|\bchild porn\w*|\bloli\b`),
		newRule("HR-S11", "S11", []string{"kill myself", "suicide", "end my life", "self-harm", "self harm", "cut myself", "overdose", "hang myself"},
			howTo+`[^.?]{0,30}\b(?:kill myself|commit suicide|end my (?:own )?life|self[- ]harm|cut myself|overdose|hang myself)\b|\b(?:painless|quick|easy|best) (?:way|method)s? (?:to|of) (?:die|suicide|kill myself)\b`),
		newRule("HR-S3", "S3", []string{"rape", "sexual assault", "sexually assault", "traffick", "date rape", "drug her", "spike", "roofie"},
			howTo+`[^.?]{0,40}\b(?:rape|sexually assault|traffic (?:women|girls|people)|spike (?:a|her|his|someone'?s) drinks?|roofie|drug (?:her|a woman|a girl) )|\bdate rape drugs?\b`),
		newRule("HR-S1", "S1", []string{"kill", "murder", "assassinat", "poison", "kidnap", "torture", "stab", "strangle", "shoot", "hurt", "beat up", "attack", "fall down the stairs"},
			howTo+`[^.?]{0,30}\b(?:kill|murder|assassinate|poison|kidnap|abduct|torture|stab|strangle|suffocate|shoot up|hurt|beat up|maim|attack) `+victim+`|\bget away with (?:murder|killing)\b|\bfall down the stairs\b[^.?]{0,60}\baccident\b`),
		newRule("HR-S2", "S2", []string{"steal", "shoplift", "launder", "counterfeit", "forge", "embezzl", "evade", "smuggl", "hack into", "break into", "hotwire", "phish", "scam", "defraud", "blackmail", "extort", "bribe", "caught", "detection", "traced", "meth", "cocaine", "heroin", "fentanyl"},
			howTo+`[^.?]{0,40}\b(?:steal|shoplift|launder|counterfeit|forge|embezzle|evade (?:taxes|the police|law enforcement)|smuggle|hack into|break into|hotwire|phish|scam|defraud|blackmail|extort|bribe|cook meth|make meth|synthesi[sz]e (?:meth|cocaine|heroin|fentanyl))\b|\bwithout (?:getting caught|being caught|being detected|detection|leaving (?:a |any )?traces?|being traced)\b`).
			except(` (?:the |a |my |your |their )?(?:show|spotlight|limelight|scene|hearts?|glances?|look|kiss|bases?|march)\b`),
		newRule("HR-S14", "S14", []string{"rm -rf", "fork bomb", "/etc/shadow", ":(){", "os.system", "subprocess"},
			`\b(?:run|execute|eval)\b[^.\n]{0,40}(?:rm -rf /|:\(\)\s*\{|/etc/shadow)|\bfork ?bomb\b|(?:os\.system|subprocess\.\w+)\([^)]{0,80}(?:rm -rf|/etc/shadow|curl |wget |nc )`),
		newRule("HR-S10", "S10", []string{"inferior", "subhuman", "lazy", "stupid", "evil", "criminals", "violent", "dirty", "vermin", "exterminate"},
			`\b(?:why (?:are|do)|prove that|explain why|write [^.?]{0,30}(?:that|arguing)|list reasons)\s+(?:all\s+)?(?:black|white|asian|jewish|jews|muslim|muslims|christian|gay|lesbian|trans(?:gender)?|fat|disabled|mexican|arab|women|men|immigrants?|refugees?|roma|indian|chinese|african)\s*(?:people|persons|folks|men|women)?\s+(?:are\s+|people\s+)?(?:so\s+|all\s+)?(?:inferior|subhuman|lazy|stupid|evil|dirty|criminals|violent|vermin|worse)\b|\bexterminate (?:the )?(?:jews|muslims|blacks|gays|immigrants)\b`),
		newRule("HR-S7", "S7", []string{"address", "social security", "ssn", "phone number", "medical", "dox", "credit card", "whereabouts"},
			`\b(?:find|get|give me|look up|tell me|what is|what's|locate)\b[^.?]{0,30}\b(?:home address|social security number|ssn|(?:personal|private|cell) phone number|medical (?:history|records)|credit card (?:number|details)|current whereabouts)\s+(?:of|for)\b|\bdox(?:x)?(?:ing)?\b`),
		newRule("HR-S5", "S5", []string{"defamat", "libel", "false", "fake news", "rumo"},
			`\b(?:write|create|draft|generate|compose)\b[^.?]{0,40}\b(?:defamatory|libel(?:l?ous)?|false (?:rumou?rs?|stor(?:y|ies)|article|accusations?|claims?)|fake news (?:article|story)?|smear)\b`),
		newRule("HR-S8", "S8", []string{"pirat", "crack", "keygen", "torrent", "drm", "copy protection", "watermark"},
			`\b(?:pirate|crack|keygen for|torrent)\b[^.?]{0,30}\b(?:software|windows|photoshop|office|movies?|films?|games?|albums?)\b|\b(?:bypass|remove|strip|break)\b[^.?]{0,15}\b(?:drm|copy protection|watermarks?)\b`),
		newRule("HR-S12", "S12", []string{"explicit", "erotic", "porn", "nsfw", "graphic sex"},
			`\b(?:write|describe|generate|create)\b[^.?]{0,30}\b(?:explicit|graphic|erotic|pornographic|nsfw|hardcore)\s+(?:sex\w*|stor(?:y|ies)|scenes?|content|fan ?fic\w*|roleplay)\b`),
		newRule("HR-S13", "S13", []string{"ballot", "voting", "vote", "election"},
			`\b(?:fake|false|misleading)\b[^.?]{0,30}\b(?:ballots?|voting (?:dates?|locations?|hours|day)|polling (?:places?|stations?)|election results)\b|\b(?:prevent|stop|discourage|suppress|intimidate)\b[^.?]{0,30}\b(?:people|voters|minorities|citizens)\s+(?:from\s+)?voting\b|\bvoter suppression (?:campaign|tactics)\b|\b(?:rig|steal|hack)\b[^.?]{0,15}\belection\b`),
	}
}

// harmfulSet indexes the harmful rules for one-pass matching, built on
// first use.
var harmfulSet = sync.OnceValue(func() *ruleSet { return newRuleSet(harmfulRules()) })

// categoryHints assign a category to a classifier-only harmful verdict;
// the first hint found wins, S2 when none is.
var categoryHints = []struct {
	cat   string
	words []string
}{
	{"S9", []string{"bomb", "explosive", "weapon", "nerve agent", "anthrax", "sarin", "nuclear", "chemical", "biological", "pathogen"}},
	{"S4", []string{"child", "minor", "underage"}},
	{"S11", []string{"suicide", "kill myself", "self-harm", "self harm", "overdose", "end my life"}},
	{"S3", []string{"rape", "sexual assault", "traffick"}},
	{"S12", []string{"sex", "porn", "erotic", "nude", "explicit"}},
	{"S1", []string{"kill", "murder", "hurt", "attack", "violence", "violent", "torture", "kidnap", "poison", "shoot", "stab"}},
	{"S10", []string{"race", "racist", "jew", "muslim", "black people", "gay", "immigrant", "women are", "men are", "ethnic", "religion", "inferior"}},
	{"S7", []string{"address", "phone number", "social security", "personal information", "private", "medical record", "location of"}},
	{"S5", []string{"defam", "rumor", "rumour", "libel", "false claim"}},
	{"S8", []string{"copyright", "pirat", "lyrics", "torrent", "crack"}},
	{"S13", []string{"election", "vote", "voting", "ballot"}},
	{"S6", []string{"diagnos", "medication", "dosage", "lawsuit", "legal advice", "invest", "prescription", "symptom"}},
	{"S14", []string{"execute", "shell", "command line", "rm -rf"}},
}

func hintCategory(text string) string {
	for _, h := range categoryHints {
		for _, w := range h.words {
			if containsWord(text, w) {
				return h.cat
			}
		}
	}
	return "S2"
}
