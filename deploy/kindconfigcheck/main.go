// kindconfigcheck decodes a kind cluster config into kind's own v1alpha4 types, strictly:
// an unknown or misspelled field, a wrong type or an unsupported apiVersion fails, the same
// config `kind create cluster --config` would read. Needs no Docker.
//
//	go run ./deploy/kindconfigcheck kind-config.yaml
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kindconfigcheck <kind-config.yaml>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cluster v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cluster); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		fmt.Fprintf(os.Stderr, "%s: want kind Cluster, apiVersion kind.x-k8s.io/v1alpha4\n", os.Args[1])
		os.Exit(1)
	}
	v1alpha4.SetDefaultsCluster(&cluster)
	for i, node := range cluster.Nodes {
		fmt.Printf("node %d: role=%s image=%s ports=%d\n", i, node.Role, node.Image, len(node.ExtraPortMappings))
	}
}
