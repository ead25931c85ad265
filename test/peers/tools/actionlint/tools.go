//go:build tools

// Package tools pins the actionlint command that lints examples/github-actions.yml
// (built by test/peers/build-peers.sh into the peers' cache).
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
