// Command both links Rampart's DLP scanner and gitleaks' detector, to measure
// what gitleaks would add to a binary that already has Rampart's detectors,
// as the gateway does.
package main

import (
	"fmt"
	"os"

	"github.com/zricethezav/gitleaks/v8/detect"

	"github.com/rampart-gw/rampart/internal/dlp"
)

func main() {
	sc, err := dlp.New(dlp.Config{})
	if err != nil {
		panic(err)
	}
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sc.Scan(os.Args[0])), len(d.DetectString(os.Args[0])))
}
