package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeDir is the kustomize tree, relative to this package.
const kustomizeDir = "kustomize"

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) that the manifests use. It is decoded strictly
// like the built-in kinds: a field the manifests set that is not here is an
// error (add it here if it is a real ServiceMonitor field).
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port          string              `json:"port,omitempty"`
			TargetPort    *intstr.IntOrString `json:"targetPort,omitempty"`
			Path          string              `json:"path,omitempty"`
			Scheme        string              `json:"scheme,omitempty"`
			Interval      string              `json:"interval,omitempty"`
			ScrapeTimeout string              `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// built is the output of one kustomize build, decoded into typed objects.
type built struct {
	Name string // "base", "overlays/example", "components/tls", ...
	YAML []byte

	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	ServiceAccounts []*corev1.ServiceAccount
	ConfigMaps      []*corev1.ConfigMap
	Secrets         []*corev1.Secret
	Namespaces      []*corev1.Namespace
	PDBs            []*policyv1.PodDisruptionBudget
	ServiceMonitors []*serviceMonitor
}

// apiVersions is every kind the manifests may hold, with its apiVersion.
// Another kind is an error: add it here and decode it in decode.
var apiVersions = map[string]string{
	"Deployment":          "apps/v1",
	"Service":             "v1",
	"ServiceAccount":      "v1",
	"ConfigMap":           "v1",
	"Secret":              "v1",
	"Namespace":           "v1",
	"PodDisruptionBudget": "policy/v1",
	"ServiceMonitor":      "monitoring.coreos.com/v1",
}

// strictDecode decodes JSON into v like the API server, case-sensitively,
// and refuses fields v does not have and duplicate fields: a misspelt or
// misplaced field (readOnlyRootFileSystem, a probe under the wrong key) would
// otherwise be dropped by the API server with at most a warning.
// (encoding/json would match readOnlyRootFileSystem to
// readOnlyRootFilesystem, ignoring case.)
func strictDecode(data []byte, v any) error {
	strict, err := kjson.UnmarshalStrict(data, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func (b *built) decode(kind string, data []byte) error {
	var err error
	switch kind {
	case "Deployment":
		err = decodeAppend(data, &b.Deployments)
	case "Service":
		err = decodeAppend(data, &b.Services)
	case "ServiceAccount":
		err = decodeAppend(data, &b.ServiceAccounts)
	case "ConfigMap":
		err = decodeAppend(data, &b.ConfigMaps)
	case "Secret":
		err = decodeAppend(data, &b.Secrets)
	case "Namespace":
		err = decodeAppend(data, &b.Namespaces)
	case "PodDisruptionBudget":
		err = decodeAppend(data, &b.PDBs)
	case "ServiceMonitor":
		err = decodeAppend(data, &b.ServiceMonitors)
	default:
		err = fmt.Errorf("no decoder for kind %s (add it to apiVersions and decode)", kind)
	}
	return err
}

func decodeAppend[T any](data []byte, list *[]*T) error {
	v := new(T)
	if err := strictDecode(data, v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// buildTarget is one kustomization to build, inside the in-memory copy of
// the tree.
type buildTarget struct {
	name string // reported name
	dir  string // directory in the in-memory file system
}

var (
	buildsOnce sync.Once
	buildsList []*built
	buildsErr  error
)

// builds builds, once per test run: the base; every overlay under
// overlays/; every component under components/ alone on top of the base;
// and all components together on top of the base. Overlays and components
// are found by listing the directories, so a new one is tested without
// changing the tests.
func builds(t *testing.T) []*built {
	t.Helper()
	buildsOnce.Do(func() { buildsList, buildsErr = buildAll() })
	if buildsErr != nil {
		t.Fatal(buildsErr)
	}
	return buildsList
}

func buildAll() ([]*built, error) {
	mem := filesys.MakeFsInMemory()
	// A copy of the tree at /kustomize, so that synthesized kustomizations
	// for the components can sit beside it without touching the work tree.
	err := filepath.WalkDir(kustomizeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(p), data)
	})
	if err != nil {
		return nil, err
	}
	targets := []buildTarget{{"base", "/kustomize/base"}}
	overlays, err := subdirs(filepath.Join(kustomizeDir, "overlays"))
	if err != nil {
		return nil, err
	}
	for _, o := range overlays {
		targets = append(targets, buildTarget{"overlays/" + o, "/kustomize/overlays/" + o})
	}
	components, err := subdirs(filepath.Join(kustomizeDir, "components"))
	if err != nil {
		return nil, err
	}
	if len(overlays) == 0 || len(components) == 0 {
		return nil, fmt.Errorf("found %d overlays and %d components under %s; expected some of each", len(overlays), len(components), kustomizeDir)
	}
	var all []string
	for _, c := range components {
		dir := "/builds/components/" + c
		k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../../kustomize/base\ncomponents:\n  - ../../../kustomize/components/%s\n", c)
		if err := mem.WriteFile(dir+"/kustomization.yaml", []byte(k)); err != nil {
			return nil, err
		}
		targets = append(targets, buildTarget{"components/" + c, dir})
		all = append(all, "  - ../../kustomize/components/"+c+"\n")
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../kustomize/base\ncomponents:\n" + strings.Join(all, "")
	if err := mem.WriteFile("/builds/all-components/kustomization.yaml", []byte(k)); err != nil {
		return nil, err
	}
	targets = append(targets, buildTarget{"all-components", "/builds/all-components"})

	kz := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	var out []*built
	for _, tg := range targets {
		m, err := kz.Run(mem, tg.dir)
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", tg.name, err)
		}
		b := &built{Name: tg.name}
		if b.YAML, err = m.AsYaml(); err != nil {
			return nil, fmt.Errorf("%s: %w", tg.name, err)
		}
		for _, r := range m.Resources() {
			kind := r.GetKind()
			id := fmt.Sprintf("%s: %s %s", tg.name, kind, r.GetName())
			want, ok := apiVersions[kind]
			if !ok {
				return nil, fmt.Errorf("%s: unexpected kind (known: %v)", id, sortedKeys(apiVersions))
			}
			if got := r.GetApiVersion(); got != want {
				return nil, fmt.Errorf("%s: apiVersion %q, want %q", id, got, want)
			}
			data, err := r.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			if err := b.decode(kind, data); err != nil {
				return nil, fmt.Errorf("%s: does not decode strictly as %s: %w", id, want, err)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "kustomization.yaml")); err != nil {
			return nil, fmt.Errorf("%s has no kustomization.yaml", path.Join(dir, e.Name()))
		}
		names = append(names, e.Name())
	}
	return names, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// forEachBuild runs f as a subtest for every build.
func forEachBuild(t *testing.T, f func(t *testing.T, b *built)) {
	t.Helper()
	for _, b := range builds(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

// The gateway's names, shared by the tests.
const (
	appName       = "forecast-gateway"
	containerName = "forecast-gateway"
	envPrefix     = "FORECAST_GATEWAY_"
)

// gateway returns the build's one gateway Deployment and its container.
func (b *built) gateway(t *testing.T) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	if len(b.Deployments) != 1 {
		t.Fatalf("%d Deployments, want 1", len(b.Deployments))
	}
	d := b.Deployments[0]
	if d.Name != appName {
		t.Fatalf("Deployment %q, want %q", d.Name, appName)
	}
	cs := d.Spec.Template.Spec.Containers
	i := slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == containerName })
	if i < 0 {
		t.Fatalf("Deployment has no container %q", containerName)
	}
	return d, &cs[i]
}

// env returns the container's environment as a map; a variable set twice
// is an error (the later one would win silently).
func env(t *testing.T, c *corev1.Container) map[string]corev1.EnvVar {
	t.Helper()
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := m[e.Name]; dup {
			t.Errorf("env %s is set twice", e.Name)
		}
		m[e.Name] = e
	}
	return m
}

// setting is one gateway setting as the manifests pass it: an env var or an
// argument.
type setting struct {
	flag   string // flag name without dashes
	value  string
	source string // "env FORECAST_GATEWAY_X" or "arg --x"
}

// settings returns every gateway setting the container passes, from
// FORECAST_GATEWAY_* variables and from --flag arguments (a flag on the
// command line wins over the variable, as in the binary).
func settings(t *testing.T, c *corev1.Container) map[string]setting {
	t.Helper()
	m := map[string]setting{}
	for _, e := range c.Env {
		if !strings.HasPrefix(e.Name, envPrefix) {
			continue
		}
		if e.ValueFrom != nil {
			// Its value is not known here; it still names a flag.
			m[envToFlag(e.Name)] = setting{flag: envToFlag(e.Name), source: "env " + e.Name, value: "<from " + e.Name + " valueFrom>"}
			continue
		}
		m[envToFlag(e.Name)] = setting{flag: envToFlag(e.Name), value: e.Value, source: "env " + e.Name}
	}
	args := append(slices.Clone(c.Command), c.Args...)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("argument %q is not a --flag (the binary takes no positional arguments)", a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			value = args[i+1]
			i++
		}
		m[name] = setting{flag: name, value: value, source: "arg " + a}
	}
	return m
}

// envToFlag maps FORECAST_GATEWAY_JWKS_FILE to jwks-file.
func envToFlag(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "_", "-")
}
