// Command rampart links Rampart's DLP scanner and nothing else, to measure
// what the detectors add to a binary.
package main

import (
	"fmt"
	"os"

	"github.com/rampart-gw/rampart/internal/dlp"
)

func main() {
	sc, err := dlp.New(dlp.Config{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sc.Scan(os.Args[0])))
}
