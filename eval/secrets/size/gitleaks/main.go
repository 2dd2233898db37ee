// Command gitleaks links gitleaks' detector with its default rule set and
// nothing else, to measure what it adds to a binary.
package main

import (
	"fmt"
	"os"

	"github.com/zricethezav/gitleaks/v8/detect"
)

func main() {
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(d.DetectString(os.Args[0])))
}
