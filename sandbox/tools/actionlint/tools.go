//go:build tools

// Package tools pins the actionlint command that lints examples/github-actions.yml
// (built by sandbox/build-peers.sh into the peers' cache).
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
