package deploy

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The contract the manifests follow (see README.md).
const (
	wantReplicas      = 3
	wantUID           = 65532
	wantPDBMinAvail   = 2
	roleARNAnnotation = "eks.amazonaws.com/role-arn"
)

// wantPorts are the gateway's container ports by name; the Dockerfile's
// EXPOSE must list the same numbers.
var wantPorts = map[string]int32{"grpc": 9090, "http": 8080, "admin": 9091}

// listenerEnv maps each listener's address variable to its container port.
var listenerEnv = map[string]string{
	"FORECAST_GATEWAY_GRPC_ADDR":  "grpc",
	"FORECAST_GATEWAY_HTTP_ADDR":  "http",
	"FORECAST_GATEWAY_ADMIN_ADDR": "admin",
}

func TestBuildsFound(t *testing.T) {
	var names []string
	for _, b := range builds(t) {
		names = append(names, b.Name)
	}
	t.Logf("built: %s", strings.Join(names, ", "))
	for _, want := range []string{"base", "overlays/example", "components/tls", "components/servicemonitor", "components/headless", "components/jwks-file", "all-components"} {
		if !slices.Contains(names, want) {
			t.Errorf("no build %q", want)
		}
	}
}

func TestNamesAreValid(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		check := func(what, name string, errs []string) {
			if len(errs) > 0 {
				t.Errorf("%s %q: %s", what, name, strings.Join(errs, "; "))
			}
		}
		for _, s := range b.Services {
			check("Service", s.Name, validation.IsDNS1035Label(s.Name))
			for _, p := range s.Spec.Ports {
				check("Service port name", p.Name, validation.IsValidPortName(p.Name))
			}
		}
		for _, d := range b.Deployments {
			check("Deployment", d.Name, validation.IsDNS1123Subdomain(d.Name))
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, p := range c.Ports {
					check("container port name", p.Name, validation.IsValidPortName(p.Name))
				}
			}
			for k, v := range d.Spec.Template.Labels {
				check("label", k, validation.IsQualifiedName(k))
				check("label value", v, validation.IsValidLabelValue(v))
			}
		}
	})
}

func TestReplicasAndRollout(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, _ := b.gateway(t)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != wantReplicas {
			t.Errorf("replicas %v, want %d", d.Spec.Replicas, wantReplicas)
		}
		s := d.Spec.Strategy
		if s.Type != "RollingUpdate" || s.RollingUpdate == nil {
			t.Fatalf("strategy %+v, want RollingUpdate", s)
		}
		if mu := s.RollingUpdate.MaxUnavailable; mu == nil || mu.String() != "0" && mu.String() != "0%" {
			t.Errorf("maxUnavailable %v, want 0 (never fewer than %d serving replicas)", mu, wantReplicas)
		}
		if ms := s.RollingUpdate.MaxSurge; ms == nil || ms.String() == "0" || ms.String() == "0%" {
			t.Errorf("maxSurge %v: with maxUnavailable 0 it must be at least 1, or the rollout cannot start", ms)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment selector %v does not select its own pod template labels %v (err %v)", d.Spec.Selector, d.Spec.Template.Labels, err)
		}
	})
}

func TestPodSecurity(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, c := b.gateway(t)
		ps := d.Spec.Template.Spec
		psc := ps.SecurityContext
		if psc == nil {
			t.Fatal("no pod securityContext")
		}
		if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Error("pod runAsNonRoot is not true")
		}
		if psc.RunAsUser == nil || *psc.RunAsUser != wantUID {
			t.Errorf("pod runAsUser %v, want %d (the image's nonroot user)", psc.RunAsUser, wantUID)
		}
		if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod seccompProfile %v, want RuntimeDefault", psc.SeccompProfile)
		}
		if ps.HostNetwork || ps.HostPID || ps.HostIPC {
			t.Error("pod shares a host namespace")
		}
		for _, v := range ps.Volumes {
			if v.HostPath != nil {
				t.Errorf("volume %s is a hostPath", v.Name)
			}
		}
		if len(ps.InitContainers) > 0 || len(ps.Containers) != 1 {
			t.Errorf("%d init containers and %d containers; the tests check one container only", len(ps.InitContainers), len(ps.Containers))
		}
		sc := c.SecurityContext
		if sc == nil {
			t.Fatal("no container securityContext")
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Error("container runAsNonRoot is not true")
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != wantUID {
			t.Errorf("container runAsUser %v, want %d", sc.RunAsUser, wantUID)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Error("container is privileged")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("capabilities %+v, want drop [ALL] and add none", sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container seccompProfile %v, want RuntimeDefault", sc.SeccompProfile)
		}
	})
}

// containerPort resolves a probe's or Service's target port (a name or a
// number) to the container port it means.
func containerPort(c *corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func TestContainerPortsAndListeners(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		_, c := b.gateway(t)
		got := map[string]int32{}
		for _, p := range c.Ports {
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				t.Errorf("port %s protocol %s, want TCP", p.Name, p.Protocol)
			}
			got[p.Name] = p.ContainerPort
		}
		if !maps.Equal(got, wantPorts) {
			t.Errorf("container ports %v, want %v", got, wantPorts)
		}
		// Each listener binds every interface on its container port: a
		// loopback address would be unreachable from the kubelet and the
		// Service.
		s := settings(t, c)
		for envName, portName := range listenerEnv {
			set, ok := s[envToFlag(envName)]
			if !ok {
				t.Errorf("%s is not set: the listener would stay on loopback (the binary's default)", envName)
				continue
			}
			host, port, err := net.SplitHostPort(set.value)
			if err != nil {
				t.Errorf("%s %q: %v", set.source, set.value, err)
				continue
			}
			if host != "" && host != "0.0.0.0" && host != "::" {
				t.Errorf("%s %q: want 0.0.0.0 (or an empty host): pod traffic does not arrive on %s", set.source, set.value, host)
			}
			if n, _ := strconv.Atoi(port); int32(n) != wantPorts[portName] {
				t.Errorf("%s port %s, but container port %s is %d", set.source, port, portName, wantPorts[portName])
			}
		}
	})
}

func TestProbes(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		_, c := b.gateway(t)
		check := func(what string, p *corev1.Probe, wantPath string) {
			if p == nil {
				t.Errorf("no %s probe", what)
				return
			}
			g := p.HTTPGet
			if g == nil {
				t.Errorf("%s probe is not httpGet: %+v", what, p.ProbeHandler)
				return
			}
			if g.Path != wantPath {
				t.Errorf("%s probe path %q, want %q", what, g.Path, wantPath)
			}
			// The admin listener is plain HTTP, TLS or not.
			if g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP {
				t.Errorf("%s probe scheme %s, want HTTP (the admin listener has no TLS)", what, g.Scheme)
			}
			if cp, ok := containerPort(c, g.Port); !ok || cp.Name != "admin" {
				t.Errorf("%s probe port %s is not the admin container port", what, g.Port.String())
			}
			if p.TimeoutSeconds < 1 || p.PeriodSeconds < 1 || p.FailureThreshold < 1 {
				t.Errorf("%s probe timings not set: %+v", what, p)
			}
		}
		check("liveness", c.LivenessProbe, "/healthz")
		check("readiness", c.ReadinessProbe, "/readyz")
		check("startup", c.StartupProbe, "/healthz")
		if p := c.StartupProbe; p != nil {
			if budget := p.PeriodSeconds * p.FailureThreshold; budget < 30 {
				t.Errorf("startup probe allows %ds; the start includes an AWS credentials check: allow at least 30s", budget)
			}
		}
	})
}

func TestResources(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		_, c := b.gateway(t)
		r := c.Resources
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, ok := r.Requests[name]
			if !ok || req.IsZero() {
				t.Errorf("no %s request", name)
			}
			lim, ok := r.Limits[name]
			if !ok || lim.IsZero() {
				t.Errorf("no %s limit", name)
				continue
			}
			if req.Cmp(lim) > 0 {
				t.Errorf("%s request %s above the limit %s", name, req.String(), lim.String())
			}
		}
		// GOMEMLIMIT (the Go runtime's soft limit) must sit below the
		// container's memory limit, with room for memory the GC does not
		// count, or it cannot prevent an OOM kill.
		lim := r.Limits[corev1.ResourceMemory]
		if e, ok := env(t, c)["GOMEMLIMIT"]; ok && !lim.IsZero() {
			v := strings.NewReplacer("KiB", "Ki", "MiB", "Mi", "GiB", "Gi").Replace(e.Value)
			q, err := resource.ParseQuantity(v)
			if err != nil {
				t.Errorf("GOMEMLIMIT %q: %v", e.Value, err)
			} else if q.Value() > lim.Value()*9/10 {
				t.Errorf("GOMEMLIMIT %s is above 90%% of the memory limit %s", e.Value, lim.String())
			}
		}
	})
}

// durationSetting returns a duration flag's value from the manifests, or
// its default in the binary.
func durationSetting(t *testing.T, s map[string]setting, flag string, def time.Duration) time.Duration {
	t.Helper()
	set, ok := s[flag]
	if !ok {
		return def
	}
	d, err := time.ParseDuration(set.value)
	if err != nil {
		t.Errorf("%s %q: %v", set.source, set.value, err)
	}
	return d
}

func TestTermination(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, c := b.gateway(t)
		s := settings(t, c)
		delay := durationSetting(t, s, "shutdown-delay", 0)
		drain := durationSetting(t, s, "drain-timeout", 20*time.Second) // the binary's default
		if delay <= 0 {
			t.Error("shutdown-delay is not set: without it (or a preStop hook) a terminating pod stops accepting while endpoints still route to it")
		}
		grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if grace == nil {
			t.Fatal("terminationGracePeriodSeconds not set (default 30s)")
		}
		if g := time.Duration(*grace) * time.Second; g <= delay+drain {
			t.Errorf("terminationGracePeriodSeconds %s is not more than shutdown-delay %s + drain-timeout %s: SIGKILL would cut the drain", g, delay, drain)
		}
		// The image has no shell: an exec hook would fail. --shutdown-delay
		// does what a preStop sleep would.
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
			t.Errorf("preStop exec hook %v: the distroless image has no shell or sleep; use --shutdown-delay", c.Lifecycle.PreStop.Exec.Command)
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if p != nil && p.Exec != nil {
				t.Errorf("exec probe %v: the image has no shell or tools", p.Exec.Command)
			}
		}
		// Service links would set FORECAST_GATEWAY_SERVICE_HOST,
		// FORECAST_GATEWAY_PORT, ... (the Service is called forecast-gateway):
		// names in the binary's environment namespace.
		if e := d.Spec.Template.Spec.EnableServiceLinks; e == nil || *e {
			t.Error("enableServiceLinks is not false: the Service forecast-gateway would put FORECAST_GATEWAY_SERVICE_HOST, FORECAST_GATEWAY_PORT_9090_TCP, ... into the gateway's environment")
		}
	})
}

func TestSpreadAcrossNodes(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, _ := b.gateway(t)
		ps := d.Spec.Template.Spec
		podLabels := labels.Set(d.Spec.Template.Labels)
		ok := false
		for _, tsc := range ps.TopologySpreadConstraints {
			sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
			if err != nil || sel.Empty() || !sel.Matches(podLabels) {
				t.Errorf("topologySpreadConstraint on %s: selector %v does not select the pods %v", tsc.TopologyKey, tsc.LabelSelector, podLabels)
				continue
			}
			if tsc.TopologyKey == "kubernetes.io/hostname" && tsc.WhenUnsatisfiable == corev1.DoNotSchedule && tsc.MaxSkew == 1 {
				ok = true
			}
		}
		if a := ps.Affinity; a != nil && a.PodAntiAffinity != nil {
			for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
				if err == nil && !sel.Empty() && sel.Matches(podLabels) && term.TopologyKey == "kubernetes.io/hostname" {
					ok = true
				}
			}
		}
		if !ok {
			t.Error("no hard spread across nodes (topologySpreadConstraint on kubernetes.io/hostname with DoNotSchedule, or a required podAntiAffinity)")
		}
	})
}

func TestServices(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, c := b.gateway(t)
		podLabels := labels.Set(d.Spec.Template.Labels)
		tlsOn := settings(t, c)["tls-cert-file"].value != ""
		var main *corev1.Service
		for _, s := range b.Services {
			if s.Name == appName {
				main = s
			}
			sel := labels.SelectorFromSet(s.Spec.Selector)
			if len(s.Spec.Selector) == 0 || !sel.Matches(podLabels) {
				t.Errorf("Service %s selector %v does not select the pods %v", s.Name, s.Spec.Selector, podLabels)
			}
			for _, p := range s.Spec.Ports {
				target := p.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(p.Port)
				}
				if _, ok := containerPort(c, target); !ok {
					t.Errorf("Service %s port %s: targetPort %s is no container port of %v", s.Name, p.Name, target.String(), c.Ports)
				}
				if p.AppProtocol != nil && *p.AppProtocol == "kubernetes.io/h2c" && tlsOn {
					t.Errorf("Service %s port %s: appProtocol kubernetes.io/h2c (cleartext) with TLS on", s.Name, p.Name)
				}
			}
		}
		if main == nil {
			t.Fatalf("no Service %s", appName)
		}
		want := map[string]string{"grpc": "grpc", "http": "http", "metrics": "admin"}
		got := map[string]string{}
		for _, p := range main.Spec.Ports {
			cp, _ := containerPort(c, p.TargetPort)
			got[p.Name] = cp.Name
			if p.AppProtocol == nil || *p.AppProtocol == "" {
				t.Errorf("Service %s port %s has no appProtocol", main.Name, p.Name)
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("Service %s ports (name to container port) %v, want %v", main.Name, got, want)
		}
		for _, p := range main.Spec.Ports {
			if p.Name == "grpc" && !tlsOn && (p.AppProtocol == nil || *p.AppProtocol != "kubernetes.io/h2c") {
				t.Errorf("Service %s port grpc appProtocol %v, want kubernetes.io/h2c (gRPC is HTTP/2 cleartext without TLS)", main.Name, p.AppProtocol)
			}
		}
	})
}

func TestPodDisruptionBudget(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, _ := b.gateway(t)
		if len(b.PDBs) != 1 {
			t.Fatalf("%d PodDisruptionBudgets, want 1", len(b.PDBs))
		}
		p := b.PDBs[0]
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("PDB selector %v does not select the Deployment's pods %v", p.Spec.Selector, d.Spec.Template.Labels)
		}
		if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != strconv.Itoa(wantPDBMinAvail) {
			t.Errorf("PDB minAvailable %v, want %d", p.Spec.MinAvailable, wantPDBMinAvail)
		}
		if p.Spec.MaxUnavailable != nil {
			t.Error("PDB sets both minAvailable and maxUnavailable")
		}
		if d.Spec.Replicas != nil && int32(wantPDBMinAvail) >= *d.Spec.Replicas {
			t.Errorf("PDB minAvailable %d >= replicas %d: no node could ever be drained", wantPDBMinAvail, *d.Spec.Replicas)
		}
	})
}

var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}|REPLACE_ME[A-Z_]*):role/[\w+=,.@/-]+$`)

func TestServiceAccount(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, _ := b.gateway(t)
		name := d.Spec.Template.Spec.ServiceAccountName
		if name == "" || name == "default" {
			t.Fatalf("serviceAccountName %q: want the gateway's own ServiceAccount", name)
		}
		i := slices.IndexFunc(b.ServiceAccounts, func(sa *corev1.ServiceAccount) bool { return sa.Name == name })
		if i < 0 {
			t.Fatalf("ServiceAccount %s is not in the output", name)
		}
		arn := b.ServiceAccounts[i].Annotations[roleARNAnnotation]
		if !roleARN.MatchString(arn) {
			t.Errorf("ServiceAccount %s annotation %s = %q, want an IAM role ARN (IRSA)", name, roleARNAnnotation, arn)
		}
	})
}

// TestSecurityConfiguration mirrors the checks the gateway makes at start
// (internal/gateway/security.go) on the configuration the manifests pass,
// so that a manifest that the binary would refuse fails here first.
func TestSecurityConfiguration(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		_, c := b.gateway(t)
		s := settings(t, c)
		has := func(flag string) bool { _, ok := s[flag]; return ok }
		if v := s["upstream"].value; v != "aws" {
			t.Errorf("upstream %q, want aws", v)
		}
		if has("jwks-file") == has("jwks-url") {
			t.Error("set exactly one of jwks-file and jwks-url")
		}
		if !has("jwt-issuer") || !has("jwt-audience") {
			t.Error("JWT verification needs jwt-issuer and jwt-audience")
		}
		if !has("page-token-keys-file") && !has("page-token-keys") {
			t.Error("no page-token keys: with --upstream=aws on a non-loopback listener the gateway refuses to start (and replicas would refuse each other's tokens)")
		}
		if has("tls-cert-file") != has("tls-key-file") {
			t.Error("TLS needs both tls-cert-file and tls-key-file")
		}
		if !has("policy-file") {
			t.Error("no policy-file: creates could name any role, bucket and key the gateway's IAM role can use")
		}
		for _, f := range []string{"allow-unauthenticated", "ephemeral-page-token-keys", "pprof"} {
			if set, ok := s[f]; ok && set.value != "false" {
				t.Errorf("%s is set (%s): not for production", f, set.source)
			}
		}
		if u := s["jwks-url"].value; u != "" && !strings.HasPrefix(u, "https://") {
			t.Errorf("jwks-url %q is not https", u)
		}
	})
}

// TestFilesAndVolumes checks that every *-file setting points at a file a
// read-only volume provides, and that every ConfigMap volume and key exists.
func TestFilesAndVolumes(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	forEachBuild(t, func(t *testing.T, b *built) {
		d, c := b.gateway(t)
		ps := d.Spec.Template.Spec
		volumes := map[string]corev1.Volume{}
		for _, v := range ps.Volumes {
			volumes[v.Name] = v
		}
		// files: path in the container -> volume providing it.
		files := map[string]string{}
		mounted := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly {
				t.Errorf("volumeMount %s at %s is not readOnly", m.Name, m.MountPath)
			}
			if m.SubPath != "" {
				t.Errorf("volumeMount %s uses subPath: updates of the Secret or ConfigMap would never reach the pod", m.Name)
			}
			v, ok := volumes[m.Name]
			if !ok {
				t.Errorf("volumeMount %s: no such volume", m.Name)
				continue
			}
			mounted[m.Name] = true
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				items = v.Secret.Items
				// Secrets are made outside the manifests: the README must say
				// what each holds.
				for _, want := range append([]string{v.Secret.SecretName}, keys(items)...) {
					if !strings.Contains(string(readme), want) {
						t.Errorf("README.md does not mention %q (Secret %s, volume %s)", want, v.Secret.SecretName, v.Name)
					}
				}
				if m := v.Secret.DefaultMode; m == nil || *m&0o007 != 0 {
					t.Errorf("Secret volume %s defaultMode %v: not readable by others, please (0440)", v.Name, m)
				}
			case v.ConfigMap != nil:
				items = v.ConfigMap.Items
				i := slices.IndexFunc(b.ConfigMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == v.ConfigMap.Name })
				if i < 0 {
					t.Errorf("volume %s: ConfigMap %s is not in the output", v.Name, v.ConfigMap.Name)
					break
				}
				for _, it := range items {
					if _, ok := b.ConfigMaps[i].Data[it.Key]; !ok {
						t.Errorf("volume %s: ConfigMap %s has no key %q", v.Name, v.ConfigMap.Name, it.Key)
					}
				}
			default:
				t.Errorf("volume %s is neither a Secret nor a ConfigMap", v.Name)
			}
			if len(items) == 0 {
				t.Errorf("volume %s lists no items: list the keys so that a missing one fails the mount", v.Name)
			}
			for _, it := range items {
				files[path.Join(m.MountPath, it.Path)] = v.Name
			}
		}
		for name := range volumes {
			if !mounted[name] {
				t.Errorf("volume %s is not mounted", name)
			}
		}
		used := map[string]bool{}
		for flag, set := range settings(t, c) {
			if !strings.HasSuffix(flag, "-file") {
				continue
			}
			v, ok := files[set.value]
			if !ok {
				t.Errorf("%s = %q: no mounted volume provides that file (mounted: %v)", set.source, set.value, sortedKeys(files))
			}
			used[v] = true
		}
		for name := range volumes {
			if !used[name] {
				t.Errorf("volume %s is mounted but no *-file setting reads it", name)
			}
		}
	})
}

func keys(items []corev1.KeyToPath) []string {
	var ks []string
	for _, it := range items {
		ks = append(ks, it.Key)
	}
	return ks
}

func TestPrometheus(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		d, c := b.gateway(t)
		ann := d.Spec.Template.Annotations
		admin := strconv.Itoa(int(wantPorts["admin"]))
		if len(b.ServiceMonitors) == 0 {
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != admin || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("no ServiceMonitor and pod annotations %v: want prometheus.io/scrape \"true\", port %s, path /metrics", ann, admin)
			}
			return
		}
		if ann["prometheus.io/scrape"] == "true" {
			t.Error("ServiceMonitor and prometheus.io/scrape \"true\" both: the pods would be scraped twice")
		}
		for _, sm := range b.ServiceMonitors {
			sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
			if err != nil || sel.Empty() {
				t.Errorf("ServiceMonitor %s selector %v: %v", sm.Name, sm.Spec.Selector, err)
				continue
			}
			if len(sm.Spec.Endpoints) == 0 {
				t.Errorf("ServiceMonitor %s has no endpoints", sm.Name)
			}
			for _, ep := range sm.Spec.Endpoints {
				// Exactly one selected Service has the port: more would
				// scrape every pod more than once.
				var with []string
				for _, s := range b.Services {
					if !sel.Matches(labels.Set(s.Labels)) {
						continue
					}
					for _, p := range s.Spec.Ports {
						if p.Name == ep.Port {
							if cp, _ := containerPort(c, p.TargetPort); cp.Name != "admin" {
								t.Errorf("ServiceMonitor %s port %s is Service %s's port to %s, not the admin port", sm.Name, ep.Port, s.Name, p.TargetPort.String())
							}
							with = append(with, s.Name)
						}
					}
				}
				if len(with) != 1 {
					t.Errorf("ServiceMonitor %s endpoint port %q: %d selected Services have it (%v), want 1", sm.Name, ep.Port, len(with), with)
				}
				if ep.Path != "/metrics" || ep.Scheme != "" && ep.Scheme != "http" {
					t.Errorf("ServiceMonitor %s endpoint %s path %q scheme %q, want /metrics over http", sm.Name, ep.Port, ep.Path, ep.Scheme)
				}
			}
		}
	})
}

func TestImage(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		_, c := b.gateway(t)
		if len(c.Command) > 0 {
			t.Errorf("command %v replaces the image's ENTRYPOINT (the binary)", c.Command)
		}
		if c.ImagePullPolicy == "" {
			t.Error("imagePullPolicy not set")
		}
		if !strings.HasPrefix(b.Name, "overlays/") {
			return
		}
		// An overlay is what gets applied: a registry and a fixed tag.
		name, tag, _ := strings.Cut(c.Image, "@")
		if tag == "" {
			i := strings.LastIndex(name, ":")
			if i < 0 || strings.Contains(name[i:], "/") {
				t.Errorf("image %q has no tag or digest", c.Image)
				return
			}
			tag = name[i+1:]
		}
		if tag == "latest" || !strings.Contains(c.Image, "/") {
			t.Errorf("image %q: want a registry path and a fixed tag or digest", c.Image)
		}
	})
}

func TestNamespaceEnforcesRestricted(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *built) {
		for _, ns := range b.Namespaces {
			if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("Namespace %s does not enforce the restricted Pod Security Standard", ns.Name)
			}
			for _, d := range b.Deployments {
				if d.Namespace != ns.Name {
					t.Errorf("Deployment %s in namespace %q, not in %s", d.Name, d.Namespace, ns.Name)
				}
			}
		}
	})
}

// TestPlaceholders lists the REPLACE_ME values of each overlay (they must be
// filled in before applying) and checks the README explains them.
func TestPlaceholders(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "REPLACE_ME") {
		t.Error("README.md does not explain the REPLACE_ME placeholders")
	}
	re := regexp.MustCompile(`REPLACE[_-]ME[A-Za-z_]*`)
	for _, b := range builds(t) {
		if !strings.HasPrefix(b.Name, "overlays/") {
			continue
		}
		found := map[string]int{}
		for _, m := range re.FindAllString(string(b.YAML), -1) {
			found[m]++
		}
		var list []string
		for _, k := range sortedKeys(found) {
			list = append(list, fmt.Sprintf("%s (%d)", k, found[k]))
		}
		t.Logf("%s placeholders to fill in: %s", b.Name, strings.Join(list, ", "))
	}
}
