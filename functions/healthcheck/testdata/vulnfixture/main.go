// Command vulnfixture starts as the function does (lambda.Start), and does
// nothing else: make vulncheck-selftest runs govulncheck on it, with make
// vulncheck's flags and target, against a database whose one fixture entry
// marks lambda.Start vulnerable (tools/vulndb/testdata/reachable), and
// govulncheck must fail naming it. It is under testdata, out of ./...: it
// is not built, tested or deployed.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() error { return nil })
}
