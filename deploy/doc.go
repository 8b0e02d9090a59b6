// Package deploy holds the tests of the container image and Kubernetes
// manifests of the gateway (see README.md).
package deploy
