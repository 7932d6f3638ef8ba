// Package charts holds the Helm chart's tests: helm lint --strict, helm
// template with the default values and each of incidentflow/ci/*.yaml, every
// rendered manifest decoded strictly into the Kubernetes API types, and the
// wiring checked against what the binary reads and serves. Nothing here
// fetches schemas: the types are the schema.
package charts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/incidentflow/incidentflow/worker"
)

// kubeVersion is the Kubernetes version helm renders for (its own default is
// older than the chart's kubeVersion).
const kubeVersion = "1.31.0"

func helm(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("helm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("helm is required under CI (.ci/run installs it): %v", err)
		}
		t.Skipf("helm not installed (go install helm.sh/helm/v3/cmd/helm@v3.22.0): %v", err)
	}
	return path
}

// valueSets are the values the chart is tested with: its defaults and every
// file of incidentflow/ci.
func valueSets(t *testing.T) map[string][]string {
	files, err := filepath.Glob("incidentflow/ci/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sets := map[string][]string{"default": nil}
	for _, f := range files {
		sets[strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{"-f", f}
	}
	return sets
}

func TestChartLints(t *testing.T) {
	h := helm(t)
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(h, append([]string{"lint", "--strict", "--kube-version", kubeVersion, "incidentflow"}, args...)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
		})
	}
}

func TestChartRefusesBadValues(t *testing.T) {
	h := helm(t)
	for _, tc := range []struct{ name, set, want string }{
		{"ErrMisspeltKey", "api.replcas=3", "additional properties 'replcas' not allowed"},
		{"ErrLogLevel", "log.level=loud", "value must be one of"},
		{"ErrTemporalAddress", "temporal.address=temporal", "/temporal/address"},
		{"ErrTLSWithoutServerName", "temporal.tls.enabled=true", "temporal.tls.serverName is required"},
		{"ErrNegativeCache", "worker.cacheSize=-1", "/worker/cacheSize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(h, "template", "t", "incidentflow", "--kube-version", kubeVersion, "--set", tc.set).CombinedOutput()
			require.Error(t, err)
			require.Contains(t, string(out), tc.want)
		})
	}
}

// rendered is one values set's manifests, decoded.
type rendered struct {
	deployments     map[string]*appsv1.Deployment
	jobs            []*batchv1.Job
	services        []*corev1.Service
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	ingresses       []*networkingv1.Ingress
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
	serviceMonitors []*serviceMonitor
}

// serviceMonitor is the part of the Prometheus Operator's CRD the chart
// writes; decoding into it strictly catches a misspelt field.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func render(t *testing.T, h string, args []string) rendered {
	t.Helper()
	out, err := exec.Command(h, append([]string{"template", "rel", "incidentflow", "--namespace", "incidents", "--kube-version", kubeVersion}, args...)...).Output()
	require.NoError(t, err)
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme,
		policyv1.AddToScheme, autoscalingv2.AddToScheme, networkingv1.AddToScheme} {
		require.NoError(t, add(scheme))
	}
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	r := rendered{deployments: map[string]*appsv1.Deployment{}}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(out), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		if strings.Contains(doc, "kind: ServiceMonitor") {
			var sm serviceMonitor
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &sm), "%s", doc)
			r.serviceMonitors = append(r.serviceMonitors, &sm)
			continue
		}
		obj, gvk, err := strict.Decode([]byte(doc), nil, nil)
		require.NoError(t, err, "strict decoding:\n%s", doc)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			r.deployments[o.Spec.Template.Spec.Containers[0].Args[0]] = o
		case *batchv1.Job:
			r.jobs = append(r.jobs, o)
		case *corev1.Service:
			r.services = append(r.services, o)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *networkingv1.Ingress:
			r.ingresses = append(r.ingresses, o)
		case *corev1.ConfigMap:
			r.configMaps = append(r.configMaps, o)
		case *corev1.ServiceAccount:
			r.serviceAccounts = append(r.serviceAccounts, o)
		default:
			t.Fatalf("the chart renders a %s the tests do not check", gvk)
		}
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// envRead is every environment variable each command of the binary reads,
// from its own help ("(env NAME)", "(env NAME or NAME_FILE)").
func envRead(t *testing.T) map[string][]string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "incidentflow")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/incidentflow").CombinedOutput()
	require.NoError(t, err, "%s", out)
	re := regexp.MustCompile(`\(env ([A-Z0-9_]+)(?: or ([A-Z0-9_]+))?\)`)
	read := map[string][]string{}
	for _, cmd := range []string{"api", "worker", "migrate"} {
		var help bytes.Buffer
		c := exec.Command(bin, cmd, "-h")
		c.Stdout, c.Stderr = &help, &help
		require.NoError(t, c.Run(), "%s", help.String())
		for _, m := range re.FindAllStringSubmatch(help.String(), -1) {
			read[cmd] = append(read[cmd], m[1])
			if m[2] != "" {
				read[cmd] = append(read[cmd], m[2])
			}
		}
		require.Contains(t, read[cmd], "DATABASE_URL", "the help of %s lists its environment", cmd)
	}
	return read
}

// apiPaths are the GET paths the API documents in its OpenAPI file.
func apiPaths(t *testing.T) []string {
	raw, err := os.ReadFile("../api/openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	var out []string
	for p, ops := range doc.Paths {
		if _, ok := ops["get"]; ok {
			out = append(out, p)
		}
	}
	return out
}

func TestChartRendersValidWiredManifests(t *testing.T) {
	h := helm(t)
	read := envRead(t)
	served := map[string][]string{"api": apiPaths(t), "worker": {worker.HealthPath, worker.ReadyPath, "/metrics"}}
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			r := render(t, h, args)
			require.Len(t, r.deployments, 2, "an api and a worker Deployment")
			require.Len(t, r.jobs, 1, "the migrate Job")
			pods := map[string]corev1.PodTemplateSpec{}
			for cmd, d := range r.deployments {
				checkPod(t, cmd, d.Spec.Template.Spec, read[cmd], served[cmd])
				require.Equal(t, d.Spec.Selector.MatchLabels, subset(d.Spec.Template.Labels, d.Spec.Selector.MatchLabels), "%s selector matches its pods", cmd)
				pods[cmd] = d.Spec.Template
			}

			job := r.jobs[0]
			require.Equal(t, []string{"pre-install", "pre-upgrade"}, strings.Split(job.Annotations["helm.sh/hook"], ","), "migrate runs before installs and upgrades")
			require.Equal(t, corev1.RestartPolicyNever, job.Spec.Template.Spec.RestartPolicy)
			checkPod(t, "migrate", job.Spec.Template.Spec, read["migrate"], nil)

			// Services select pods of one component and name a port they have.
			for _, s := range r.services {
				cmd := s.Spec.Selector["app.kubernetes.io/component"]
				pod, ok := pods[cmd]
				require.True(t, ok, "service %s selects %q", s.Name, cmd)
				require.Equal(t, s.Spec.Selector, subset(pod.Labels, s.Spec.Selector), "service %s selects the %s pods", s.Name, cmd)
				for _, p := range s.Spec.Ports {
					require.Equal(t, intstr.String, p.TargetPort.Type)
					require.True(t, slices.ContainsFunc(pod.Spec.Containers[0].Ports, func(c corev1.ContainerPort) bool { return c.Name == p.TargetPort.StrVal }),
						"service %s targets port %s of the %s pods", s.Name, p.TargetPort.StrVal, cmd)
				}
			}
			for _, p := range r.pdbs {
				cmd := p.Spec.Selector.MatchLabels["app.kubernetes.io/component"]
				require.Equal(t, p.Spec.Selector.MatchLabels, subset(pods[cmd].Labels, p.Spec.Selector.MatchLabels), "budget %s selects the %s pods", p.Name, cmd)
			}
			for _, a := range r.hpas {
				require.Equal(t, r.deployments["api"].Name, a.Spec.ScaleTargetRef.Name)
				require.Nil(t, r.deployments["api"].Spec.Replicas, "an autoscaled Deployment leaves replicas to the autoscaler")
			}
			for _, in := range r.ingresses {
				backend := in.Spec.Rules[0].HTTP.Paths[0].Backend.Service
				require.True(t, slices.ContainsFunc(r.services, func(s *corev1.Service) bool { return s.Name == backend.Name }), "ingress backend %s exists", backend.Name)
			}
			for _, sm := range r.serviceMonitors {
				for _, ep := range sm.Spec.Endpoints {
					require.True(t, slices.ContainsFunc(r.services, func(s *corev1.Service) bool {
						return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port })
					}), "ServiceMonitor port %s is a Service port", ep.Port)
					require.Equal(t, "/metrics", ep.Path)
				}
			}
			// A chart-made processes ConfigMap holds files the binary loads.
			for _, cm := range r.configMaps {
				require.Contains(t, cm.Data, "directory.yaml")
			}
		})
	}
}

// checkPod checks one incidentflow pod: it runs cmd, sets only environment
// variables cmd reads, takes the database URL from a Secret, mounts the
// files its variables point at, probes paths cmd serves on a port it
// listens on, and runs locked down.
func checkPod(t *testing.T, cmd string, pod corev1.PodSpec, reads, serves []string) {
	t.Helper()
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Equal(t, cmd, c.Args[0], "the container runs incidentflow %s", cmd)
	require.NotEmpty(t, c.Image)
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
		if strings.HasPrefix(e.Name, "INCIDENTFLOW_") || strings.HasPrefix(e.Name, "TEMPORAL_") || e.Name == "DATABASE_URL" {
			require.Contains(t, reads, e.Name, "incidentflow %s reads %s", cmd, e.Name)
		}
		if strings.HasPrefix(e.Value, "/etc/incidentflow/") {
			require.True(t, slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return strings.HasPrefix(e.Value, m.MountPath+"/") || e.Value == m.MountPath
			}),
				"%s=%s is under a mounted volume", e.Name, e.Value)
		}
	}
	db := env["DATABASE_URL"]
	require.NotNil(t, db.ValueFrom, "DATABASE_URL comes from a Secret")
	require.NotNil(t, db.ValueFrom.SecretKeyRef)
	require.Empty(t, db.Value, "never a literal database URL")
	if cmd != "migrate" {
		// Without it the api and worker refuse to start; it is a secret.
		ls := env["INCIDENTFLOW_LINK_SECRET"]
		require.NotNil(t, ls.ValueFrom, "incidentflow %s gets INCIDENTFLOW_LINK_SECRET from a Secret", cmd)
		require.NotNil(t, ls.ValueFrom.SecretKeyRef)
		require.Empty(t, ls.Value, "never a literal link secret")
	}
	for _, name := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} {
		require.NotEmpty(t, env[name].Value, "%s set", name)
	}

	listen := map[string]string{"api": "INCIDENTFLOW_API_ADDR", "worker": "INCIDENTFLOW_METRICS_ADDR"}[cmd]
	for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
		if serves == nil {
			require.Nil(t, p, "a Job has no probes")
			continue
		}
		require.NotNil(t, p, "incidentflow %s is probed", cmd)
		require.Contains(t, serves, p.HTTPGet.Path, "incidentflow %s serves %s", cmd, p.HTTPGet.Path)
		i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.StrVal })
		require.GreaterOrEqual(t, i, 0, "probe port %s is a container port", p.HTTPGet.Port.StrVal)
		_, port, err := net.SplitHostPort(env[listen].Value)
		require.NoError(t, err, "%s=%q", listen, env[listen].Value)
		require.Equal(t, port, fmt.Sprint(c.Ports[i].ContainerPort), "%s listens on the probed port", listen)
	}
	if serves != nil {
		require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
		require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	}

	require.NotNil(t, pod.SecurityContext.RunAsNonRoot)
	require.True(t, *pod.SecurityContext.RunAsNonRoot, "runs as non-root")
	sc := c.SecurityContext
	require.True(t, *sc.ReadOnlyRootFilesystem, "read-only root filesystem")
	require.False(t, *sc.AllowPrivilegeEscalation)
	require.Contains(t, sc.Capabilities.Drop, corev1.Capability("ALL"))
	require.True(t, mounts["/tmp"], "a writable /tmp beside the read-only root")
	require.NotNil(t, pod.AutomountServiceAccountToken)
	require.False(t, *pod.AutomountServiceAccountToken, "no Kubernetes API token")
	require.NotEmpty(t, c.Resources.Requests, "resource requests set")
}

// subset is the entries of m whose keys are in keys.
func subset(m, keys map[string]string) map[string]string {
	out := map[string]string{}
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// The compose file is the same topology on one machine: its incidentflow
// services set only variables their command reads, the api and workers wait
// for migrate to succeed, and Temporal keeps visibility on PostgreSQL.
func TestComposeMatchesTheChart(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Command     []string          `json:"command"`
			Environment map[string]string `json:"environment"`
			DependsOn   map[string]struct {
				Condition string `json:"condition"`
			} `json:"depends_on"`
			ReadOnly bool `json:"read_only"`
		} `json:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	read := envRead(t)
	seen := map[string]int{}
	for name, s := range compose.Services {
		if len(s.Command) == 0 || read[s.Command[0]] == nil {
			continue
		}
		cmd := s.Command[0]
		seen[cmd]++
		require.True(t, s.ReadOnly, "%s runs on a read-only root filesystem", name)
		for k := range s.Environment {
			require.Contains(t, read[cmd], k, "%s: incidentflow %s reads %s", name, cmd, k)
		}
		if cmd != "migrate" {
			require.Equal(t, "service_completed_successfully", s.DependsOn["migrate"].Condition, "%s waits for migrate", name)
		}
	}
	require.Equal(t, map[string]int{"migrate": 1, "api": 1, "worker": 2}, seen)
	temporal := compose.Services["temporal"].Environment
	require.Equal(t, "postgres12", temporal["DB"])
	require.Equal(t, "temporal_visibility", temporal["VISIBILITY_DBNAME"], "visibility on PostgreSQL")
}
