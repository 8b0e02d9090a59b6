package transport

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/forecastgw/forecast-gateway/gen/openapi"
)

// registerReflection serves server reflection from the API's descriptor
// set as buf built it, with source info: generated Go code drops the proto
// comments, so `grpcurl describe` would show bare fields. Files the set
// does not hold (health, reflection itself) come from the Go registry.
func registerReflection(s *grpc.Server) error {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(openapi.Descriptors, &set); err != nil {
		return fmt.Errorf("transport: reading the API descriptors: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return fmt.Errorf("transport: reading the API descriptors: %w", err)
	}
	opts := reflection.ServerOptions{Services: s, DescriptorResolver: withFallback{files, protoregistry.GlobalFiles}}
	reflectionv1.RegisterServerReflectionServer(s, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(s, reflection.NewServer(opts))
	return nil
}

// withFallback resolves from first, then from second.
type withFallback struct{ first, second *protoregistry.Files }

func (r withFallback) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.first.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return r.second.FindFileByPath(path)
}

func (r withFallback) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.first.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return r.second.FindDescriptorByName(name)
}
