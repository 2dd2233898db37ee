// Command none is the baseline for the binary-size measurement: a main that
// links no detector.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println(len(os.Args))
}
