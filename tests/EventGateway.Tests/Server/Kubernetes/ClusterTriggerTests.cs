using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// Kubernetes mode's triggers against the test API server through the real KubernetesClient: Sensors applied in the
/// "cluster", a webhook event, and the k8s trigger's create/update/patch/delete of any kind discovery lists (built-in
/// kinds and a kind served only for the test), policy.k8s by watching labels (backoff on the injected clock), API
/// refusals as trigger failures, and argoWorkflow triggers creating Workflow objects (<c>--workflows-target cluster</c>).
/// </summary>
public sealed class ClusterTriggerTests : IAsyncLifetime
{
    private static readonly ApiResourceType Widget = new("example.com", "v1", "Widget", "widgets", true, false);

    private readonly HttpClient _http = new();
    private readonly int _port = EventTestHost.FreePort();
    private readonly List<ApiResourceType> _types = [.. ApiResourceType.Defaults];
    private TestApiServer _api = null!;
    private string _kubeconfig = null!;
    private EventTestHost? _host;

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync(_types); // a list the test may add a kind to, as a CRD installed later
        _kubeconfig = _api.WriteKubeconfig(Path.Combine(Directory.CreateTempSubdirectory("egw-kube-").FullName, "config"));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.Get<ClusterObjectMirror>().StopAsync(CancellationToken.None);
            await _host.DisposeAsync();
        }
        await _api.DisposeAsync();
        _http.Dispose();
    }

    private async Task<EventTestHost> StartAsync(string sensorYaml, TimeProvider? time = null, string workflowsTarget = KubernetesOptions.EmbeddedTarget)
    {
        Create("eventsources", $$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hooks, namespace: ci}
            spec:
              webhook:
                go: {port: "{{_port}}", endpoint: /go, method: POST}
            """);
        Create("sensors", sensorYaml);
        _host = await EventTestHost.StartAsync(time, pipeline: true,
            configure: o => o.Kubernetes = new KubernetesOptions { Kubeconfig = _kubeconfig, WorkflowsTarget = workflowsTarget });
        await _host.Get<ClusterObjectMirror>().StartAsync(CancellationToken.None);
        await _host.WaitListeningAsync("ci", "hooks");
        await _host.WaitSensorRunningAsync("ci", "acts");
        return _host;
    }

    private static JsonObject Yaml(string yaml) => (JsonObject)JsonNode.Parse(YamlToJson.Convert(yaml).Single().Json)!;

    private JsonObject Create(string plural, string yaml, string? ns = "ci") => _api.Create(plural, ns, Yaml(yaml));

    /// <summary>A Sensor in namespace ci whose triggers (YAML list items under spec.triggers) fire on each POST /go.</summary>
    private static string Sensor(string triggers) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: acts, namespace: ci}
        spec:
          dependencies:
            - {name: go, eventSourceName: hooks, eventName: go}
          triggers:
        {{string.Join('\n', triggers.Split('\n').Select(l => "    " + l))}}
        """;

    /// <summary>Posts the event and returns each trigger's decision on it, by trigger name.</summary>
    private async Task<Dictionary<string, Decision>> FireAsync(string json, params string[] triggers)
    {
        var before = (await _host!.Log.QueryAsync(new EventGateway.Events.Log.EventQuery(Source: "hooks", Limit: 10_000))).Count;
        using (var resp = await _http.PostAsync($"http://127.0.0.1:{_port}/go", new StringContent(json, Encoding.UTF8, "application/json")))
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        var logged = (await _host.WaitForEventsAsync("hooks", before + 1))[^1];
        return await Eventually.Get(() =>
        {
            // A failed firing is also dead-lettered right after; the firing's own decision is the one to look at.
            var decisions = _host.Sensors.State.DecisionsFor([logged.Sequence]).Where(d => d.Outcome != Outcomes.DeadLettered).ToList();
            return Task.FromResult(triggers.All(t => decisions.Any(d => d.Trigger == t && d.Outcome is Outcomes.Triggered or Outcomes.Failed))
                ? decisions.Where(d => d.Outcome is Outcomes.Triggered or Outcomes.Failed).GroupBy(d => d.Trigger).ToDictionary(g => g.Key, g => g.First())
                : null);
        }, $"the decisions of {string.Join(", ", triggers)}", TimeSpan.FromSeconds(60));
    }

    private IReadOnlyList<TestApiServer.Request> Requests(string method, string path) =>
        _api.Requests.Where(r => r.Method == method && r.Path == path).ToList();

    private const string Deployment = """
        - template:
            name: deploy
            k8s:
              operation: create
              source:
                resource:
                  apiVersion: apps/v1
                  kind: Deployment
                  metadata: {name: placeholder, labels: {app: web}}
                  spec:
                    replicas: 1
                    selector: {matchLabels: {app: web}}
                    template:
                      metadata: {labels: {app: web}}
                      spec: {containers: [{name: web, image: nginx}]}
              parameters:
                - src: {dependencyName: go, dataKey: body.name}
                  dest: metadata.name
                - src: {dependencyName: go, dataKey: body.image}
                  dest: spec.template.spec.containers.0.image
        """;

    [Fact]
    public async Task A_webhook_event_creates_a_Deployment_and_a_Job_in_the_cluster_in_the_Sensor_namespace()
    {
        await StartAsync(Sensor(Deployment + """

            - template:
                name: job
                k8s:
                  source:
                    resource:
                      apiVersion: batch/v1
                      kind: Job
                      metadata: {generateName: migrate-}
                      spec:
                        template:
                          spec:
                            restartPolicy: Never
                            containers: [{name: migrate, image: busybox, command: [echo, hi]}]
            """));

        var d = await FireAsync("""{"name":"web","image":"nginx:1.27"}""", "deploy", "job");
        d["deploy"].Outcome.ShouldBe(Outcomes.Triggered, d["deploy"].Reason);
        d["deploy"].Reason!.ShouldContain("Deployment ci/web created");
        d["job"].Outcome.ShouldBe(Outcomes.Triggered, d["job"].Reason);

        var deployment = _api.Get("deployments", "ci", "web").ShouldNotBeNull();
        deployment["metadata"]!["namespace"]!.GetValue<string>().ShouldBe("ci"); // defaulted to the Sensor's
        deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>().ShouldBe("nginx:1.27");
        deployment["metadata"]!["labels"]!["app"]!.GetValue<string>().ShouldBe("web");
        Requests("POST", "/apis/apps/v1/namespaces/ci/deployments").Single().Status.ShouldBe(201);

        // generateName became a name derived from the firing: a replay of it finds the same Job instead of making a second.
        var jobName = d["job"].Reason!.Split(' ').First(w => w.StartsWith("ci/migrate-", StringComparison.Ordinal))[3..];
        var job = _api.Get("jobs", "ci", jobName).ShouldNotBeNull();
        job["spec"]!["template"]!["spec"]!["containers"]![0]!["command"]!.AsArray().Select(c => c!.GetValue<string>()).ShouldBe(["echo", "hi"]);
        job["metadata"]!["annotations"]!["eventgateway.io/dedup-key"].ShouldNotBeNull();
        // Nothing reached the embedded store: the cluster is where the objects are.
        _api.Requests.ShouldContain(r => r.Method == "GET" && r.Path == "/apis/apps/v1"); // discovery
    }

    [Fact]
    public async Task A_kind_the_cluster_starts_serving_later_is_found_by_refreshing_discovery_once_on_a_miss()
    {
        await StartAsync(Sensor("""
            - template:
                name: widget
                k8s:
                  source:
                    resource:
                      apiVersion: example.com/v1
                      kind: Widget
                      metadata: {generateName: w-}
                      spec: {size: 3}
            """));
        var first = (await FireAsync("{}", "widget"))["widget"];
        first.Outcome.ShouldBe(Outcomes.Failed);
        first.Reason!.ShouldContain("the cluster serves no kind Widget in example.com/v1");

        _types.Add(Widget); // the CRD is installed
        var second = (await FireAsync("{}", "widget"))["widget"];
        second.Outcome.ShouldBe(Outcomes.Triggered, second.Reason);
        _api.Get("widgets", "ci", second.Reason!.Split(' ')[1].Split('/')[1])!["spec"]!["size"]!.GetValue<int>().ShouldBe(3);
        var discoveries = Requests("GET", "/apis/example.com/v1").Count;

        (await FireAsync("{}", "widget"))["widget"].Outcome.ShouldBe(Outcomes.Triggered);
        Requests("GET", "/apis/example.com/v1").Count.ShouldBe(discoveries); // cached: no discovery for a known kind
        _api.Requests.Count(r => r.Method == "POST" && r.Path == "/apis/example.com/v1/namespaces/ci/widgets").ShouldBe(2);
    }

    [Fact]
    public async Task Update_patch_and_delete_change_the_live_object_as_Argo_Events_does()
    {
        Create("deployments", """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: ci, labels: {app: web, team: infra}}
            spec: {replicas: 1, paused: false, template: {spec: {containers: [{name: web, image: nginx}]}}}
            """);
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: ci}, data: {color: blue, size: large}}");
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: doomed, namespace: ci}, data: {a: '1'}}");
        await StartAsync(Sensor("""
            - template:
                name: scale
                k8s:
                  operation: update
                  source:
                    resource: {apiVersion: apps/v1, kind: Deployment, metadata: {name: web, labels: {team: web}}, spec: {replicas: 1}}
                  parameters:
                    - src: {dependencyName: go, dataKey: body.replicas, useRawData: true}
                      dest: spec.replicas
            - template:
                name: recolor
                k8s:
                  operation: patch
                  patchStrategy: application/strategic-merge-patch+json
                  source:
                    resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {color: red, size: null}}
            - template:
                name: remove
                k8s:
                  operation: delete
                  source:
                    resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: doomed}}
            """));

        var d = await FireAsync("""{"replicas":3}""", "scale", "recolor", "remove");
        d.Values.ShouldAllBe(x => x.Outcome == Outcomes.Triggered, string.Join("; ", d.Values.Select(x => x.Reason)));

        var web = _api.Get("deployments", "ci", "web")!;
        web["spec"]!["replicas"]!.ToJsonString().ShouldBe("3");
        web["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>().ShouldBe("nginx"); // kept: update merges onto the live object
        web["metadata"]!["labels"]!["team"]!.GetValue<string>().ShouldBe("web");
        web["metadata"]!["labels"]!["app"]!.GetValue<string>().ShouldBe("web");
        Requests("PUT", "/apis/apps/v1/namespaces/ci/deployments/web").ShouldNotBeEmpty();

        var settings = _api.Get("configmaps", "ci", "settings")!;
        settings["data"]!.ToJsonString().ShouldBe("""{"color":"red"}"""); // a null removes a key
        Requests("PATCH", "/api/v1/namespaces/ci/configmaps/settings").Single().Status.ShouldBe(200);
        _api.Get("configmaps", "ci", "doomed").ShouldBeNull();

        // Deleting what is gone does nothing and succeeds.
        var again = await FireAsync("""{"replicas":"3"}""", "remove");
        again["remove"].Reason!.ShouldContain("ConfigMap ci/doomed not found, nothing to delete");
    }

    [Fact]
    public async Task Update_with_liveObject_applies_the_parameters_to_the_object_read_from_the_cluster()
    {
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: ci, labels: {team: infra}}, data: {color: blue, size: large}}");
        await StartAsync(Sensor("""
            - template:
                name: recolor
                k8s:
                  operation: update
                  liveObject: true
                  source:
                    resource: {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}}
                  parameters:
                    - src: {dependencyName: go, dataKey: body.color}
                      dest: data.color
            """));

        var d = (await FireAsync("""{"color":"green"}""", "recolor"))["recolor"];
        d.Outcome.ShouldBe(Outcomes.Triggered, d.Reason);
        var settings = _api.Get("configmaps", "ci", "settings")!;
        settings["data"]!.ToJsonString().ShouldBe("""{"color":"green","size":"large"}""");
        settings["metadata"]!["labels"]!["team"]!.GetValue<string>().ShouldBe("infra");
        Requests("GET", "/api/v1/namespaces/ci/configmaps/settings").Count.ShouldBe(2); // the live object, then the update's read
    }

    [Fact]
    public async Task Refusals_of_the_API_server_fail_the_firing_with_the_Status_message()
    {
        Create("deployments", "{apiVersion: apps/v1, kind: Deployment, metadata: {name: taken, namespace: ci}, spec: {replicas: 1}}");
        await StartAsync(Sensor(Deployment + """

            - template:
                name: strategic-on-crd
                k8s:
                  operation: patch
                  patchStrategy: application/strategic-merge-patch+json
                  source:
                    resource: {apiVersion: argoproj.io/v1alpha1, kind: WorkflowTemplate, metadata: {name: build}, spec: {entrypoint: x}}
            """));
        Create("workflowtemplates", "{apiVersion: argoproj.io/v1alpha1, kind: WorkflowTemplate, metadata: {name: build, namespace: ci}, spec: {entrypoint: main, templates: [{name: main, suspend: {}}]}}");

        // 409: the named object exists and this firing did not make it.
        var taken = (await FireAsync("""{"name":"taken","image":"x"}""", "deploy", "strategic-on-crd"))["deploy"];
        taken.Outcome.ShouldBe(Outcomes.Failed);
        taken.Reason!.ShouldContain("409 AlreadyExists: deployments.apps \"taken\" already exists");
        _api.Get("deployments", "ci", "taken")!["spec"]!["template"].ShouldBeNull(); // unchanged

        // 422: the API server refuses the name.
        var d = await FireAsync("""{"name":"Not_A_Name","image":"x"}""", "deploy", "strategic-on-crd");
        d["deploy"].Outcome.ShouldBe(Outcomes.Failed);
        d["deploy"].Reason!.ShouldContain("422 Invalid: ");
        d["deploy"].Reason!.ShouldContain("a lowercase RFC 1123 subdomain");
        // 415: strategic merge of a custom resource, which the API server cannot do.
        d["strategic-on-crd"].Outcome.ShouldBe(Outcomes.Failed);
        d["strategic-on-crd"].Reason!.ShouldContain("415 UnsupportedMediaType");
        // Refusals are not retried (the sensor's retryStrategy is for server trouble): one POST per firing.
        Requests("POST", "/apis/apps/v1/namespaces/ci/deployments").Count.ShouldBe(2);
    }

    private const string JobWithPolicy = """
        - template:
            name: run
            k8s:
              source:
                resource:
                  apiVersion: batch/v1
                  kind: Job
                  metadata: {name: run-once}
                  spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}
          policy:
            k8s:
              backoff: {steps: 3, duration: 30s, factor: 1}
              labels: {state: done}
              errorOnBackoffTimeout: true
        """;

    [Fact]
    public async Task Policy_k8s_waits_on_a_watch_until_the_labels_match_and_a_dropped_watch_resumes()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        await StartAsync(Sensor(JobWithPolicy), time);
        using var post = _http.PostAsync($"http://127.0.0.1:{_port}/go", new StringContent("{}", Encoding.UTF8, "application/json"));
        await Eventually.Get(() => Task.FromResult(_api.Get("jobs", "ci", "run-once") is not null && _api.OpenWatches("jobs") == 1 ? "" : null), "the Job created and watched");

        _api.DropWatches(); // the connection is cut mid-wait: the watch resumes from the Job's resourceVersion
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("jobs") == 1 ? "" : null), "the watch resumed");
        var job = _api.Get("jobs", "ci", "run-once")!;
        job["metadata"]!["labels"]!["state"] = "done";
        _api.Update("jobs", "ci", job);

        var logged = (await _host!.WaitForEventsAsync("hooks", 1))[^1];
        var decision = await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([logged.Sequence]).FirstOrDefault(x => x.Outcome is Outcomes.Triggered or Outcomes.Failed)),
            "the trigger's decision", TimeSpan.FromSeconds(60));
        decision.Outcome.ShouldBe(Outcomes.Triggered, decision.Reason); // no clock moved: the watch, not the backoff, ended the wait
        var watches = _api.Requests.Where(r => r.Path == "/apis/batch/v1/namespaces/ci/jobs" && r.Query.Contains("watch=true", StringComparison.Ordinal)).ToList();
        watches.Count.ShouldBe(2);
        watches[1].Query.ShouldMatch(@"resourceVersion=\d+"); // resumed from where it was, not from ""
        Requests("GET", "/apis/batch/v1/namespaces/ci/jobs/run-once").Count.ShouldBe(1); // and without reading the object again
        watches.ShouldAllBe(w => w.Query.Contains("fieldSelector=metadata.name%3Drun-once", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Policy_k8s_fails_the_trigger_when_the_backoff_runs_out_on_the_clock()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        await StartAsync(Sensor(JobWithPolicy), time);
        using var post = _http.PostAsync($"http://127.0.0.1:{_port}/go", new StringContent("{}", Encoding.UTF8, "application/json"));
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("jobs") == 1 && time.HasPendingTimer(TimeSpan.FromSeconds(60)) ? "" : null), "the wait parked on the clock");
        var logged = (await _host!.WaitForEventsAsync("hooks", 1))[^1];
        _host.Sensors.State.DecisionsFor([logged.Sequence]).ShouldNotContain(x => x.Outcome == Outcomes.Triggered || x.Outcome == Outcomes.Failed);

        time.Advance(TimeSpan.FromSeconds(60)); // two backoff steps of 30 s
        var decision = await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([logged.Sequence]).FirstOrDefault(x => x.Outcome is Outcomes.Failed)),
            "the trigger failed", TimeSpan.FromSeconds(60));
        decision.Reason!.ShouldContain("policy.k8s: Job ci/run-once did not reach labels {state: done} within 60 s");
    }

    [Fact]
    public async Task With_workflows_target_cluster_an_argoWorkflow_trigger_creates_a_Workflow_object_in_the_cluster()
    {
        await StartAsync(Sensor("""
            - template:
                name: build
                argoWorkflow:
                  operation: submit
                  args: [--labels, origin=webhook]
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: build-}
                      spec:
                        workflowTemplateRef: {name: build}
                        arguments: {parameters: [{name: branch, value: none}]}
                  parameters:
                    - src: {dependencyName: go, dataKey: body.branch}
                      dest: spec.arguments.parameters.0.value
            """), workflowsTarget: KubernetesOptions.ClusterTarget);

        var d = (await FireAsync("""{"branch":"main"}""", "build"))["build"];
        d.Outcome.ShouldBe(Outcomes.Triggered, d.Reason);
        var name = d.Reason!.Split(' ')[1];
        name.ShouldStartWith("build-");
        var wf = _api.Get("workflows", "ci", name).ShouldNotBeNull();
        wf["spec"]!["workflowTemplateRef"]!["name"]!.GetValue<string>().ShouldBe("build");
        wf["spec"]!["arguments"]!["parameters"]![0]!["value"]!.GetValue<string>().ShouldBe("main");
        wf["metadata"]!["labels"]!["origin"]!.GetValue<string>().ShouldBe("webhook");
        (await _host!.Store.ListAsync<Workflow>("ci")).ShouldBeEmpty(); // the cluster's controller runs it, not this service's
    }

    [Fact]
    public async Task With_workflows_target_cluster_suspend_and_terminate_are_written_to_the_Workflow_and_retry_names_argo_server()
    {
        Create("workflows", "{apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {name: running, namespace: ci}, spec: {entrypoint: main, templates: [{name: main, suspend: {}}]}}");
        await StartAsync(Sensor("""
            - template:
                name: terminate
                argoWorkflow:
                  operation: terminate
                  source: {resource: {apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {name: placeholder}}}
                  parameters:
                    - src: {dependencyName: go, dataKey: body.name}
                      dest: metadata.name
            - template:
                name: retry
                argoWorkflow:
                  operation: retry
                  source: {resource: {apiVersion: argoproj.io/v1alpha1, kind: Workflow, metadata: {name: running}}}
            """), workflowsTarget: KubernetesOptions.ClusterTarget);

        var d = await FireAsync("""{"name":"running"}""", "terminate", "retry");
        d["terminate"].Outcome.ShouldBe(Outcomes.Triggered, d["terminate"].Reason);
        _api.Get("workflows", "ci", "running")!["spec"]!["shutdown"]!.GetValue<string>().ShouldBe("Terminate");
        d["retry"].Outcome.ShouldBe(Outcomes.Failed);
        d["retry"].Reason!.ShouldContain("retry needs argo-server");

        var missing = (await FireAsync("""{"name":"gone"}""", "terminate"))["terminate"];
        missing.Outcome.ShouldBe(Outcomes.Failed);
        missing.Reason!.ShouldContain("terminate: workflow ci/gone not found in the cluster");
    }

    [Theory]
    [InlineData(new[] { "--workflows-target", "cluster" }, "--workflows-target cluster needs --kubernetes", 2)]
    [InlineData(new[] { "--workflows-target", "elsewhere" }, "elsewhere", 1)] // a parse error of the command line
    public async Task Serve_refuses_a_workflows_target_it_cannot_use(string[] flags, string message, int exitCode)
    {
        var (code, _, stderr) = await EventGateway.Tests.Cli.CliTests.Egw(["serve", "--port", "0", "--data-dir", Directory.CreateTempSubdirectory("egw-cli-").FullName, .. flags]);
        code.ShouldBe(exitCode);
        stderr.ShouldContain(message);
    }
}
