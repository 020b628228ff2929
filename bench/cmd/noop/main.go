// Command noop is the bench's baseline for the function's Init: an
// aws-lambda-go handler that does nothing, built and run under the Runtime
// Interface Emulator as bootstrap is, so that the emulator's INIT REPORT of
// the two, taken side by side, shows what the function's own start adds to
// the runtime's (bench/cmd/bench).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) error { return nil })
}
