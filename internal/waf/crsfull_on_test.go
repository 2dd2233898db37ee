//go:build crsfull

package waf

// crsFull runs the whole CRS regression suite even under the race detector
// (go test -tags crsfull -run TestCRSRegression).
const crsFull = true
