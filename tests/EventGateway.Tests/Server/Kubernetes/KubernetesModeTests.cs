using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// <c>serve --kubernetes</c> against the test API server through the real KubernetesClient: objects created, changed
/// and deleted in the "cluster" drive the service; the watch survives cuts, compaction (410 Gone) and API errors;
/// EventSource and Sensor status is written back with Argo Events' conditions.
/// </summary>
public sealed class KubernetesModeTests : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private readonly int _port = EventTestHost.FreePort();
    private TestApiServer _api = null!;
    private string _kubeconfig = null!;
    private EventTestHost? _host;

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync();
        _kubeconfig = _api.WriteKubeconfig(Path.Combine(Directory.CreateTempSubdirectory("egw-kube-").FullName, "config"));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.Get<ClusterStatusWriter>().StopAsync(CancellationToken.None);
            await _host.Get<ClusterObjectMirror>().StopAsync(CancellationToken.None);
            await _host.DisposeAsync();
        }
        await _api.DisposeAsync();
        _http.Dispose();
    }

    private async Task<EventTestHost> StartAsync(bool pipeline = true, TimeProvider? time = null, bool statusWriter = true, Func<EventTestHost, Task>? before = null)
    {
        _host = await EventTestHost.StartAsync(time, pipeline: pipeline, configure: o => o.Kubernetes = new KubernetesOptions { Kubeconfig = _kubeconfig });
        if (before is not null) await before(_host);
        await _host.Get<ClusterObjectMirror>().StartAsync(CancellationToken.None);
        if (statusWriter) await _host.Get<ClusterStatusWriter>().StartAsync(CancellationToken.None);
        return _host;
    }

    private ClusterObjectMirror Mirror => _host!.Get<ClusterObjectMirror>();

    private static JsonObject Yaml(string yaml) => (JsonObject)JsonNode.Parse(YamlToJson.Convert(yaml).Single().Json)!;

    private JsonObject Create(string plural, string yaml, string? ns = "ci") => _api.Create(plural, ns, Yaml(yaml));

    private JsonObject EventSource(string name = "hooks") => Create("eventsources", $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: {{name}}, namespace: ci}
        spec:
          webhook:
            push: {port: "{{_port}}", endpoint: /push, method: POST}
        """);

    private const string Template = """
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: build, namespace: ci, labels: {version: "1"}}
        spec:
          entrypoint: main
          arguments: {parameters: [{name: branch}]}
          templates:
            - name: main
              inputs: {parameters: [{name: branch}]}
              suspend: {}
        """;

    private static string Sensor(string name = "builds", string eventName = "push") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: {{name}}, namespace: ci}
        spec:
          dependencies:
            - {name: push, eventSourceName: hooks, eventName: {{eventName}}}
          triggers:
            - template:
                name: build
                argoWorkflow:
                  operation: submit
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: build-}
                      spec:
                        workflowTemplateRef: {name: build}
                        arguments: {parameters: [{name: branch, value: none}]}
                  parameters:
                    - src: {dependencyName: push, dataKey: body.branch}
                      dest: spec.arguments.parameters.0.value
        """;

    private async Task<T> StoreGet<T>(string name, string ns = "ci") where T : Resource =>
        await Eventually.Get(() => _host!.Store.GetAsync<T>(ns, name), $"{typeof(T).Name} {ns}/{name} in the store");

    private Task StoreGone<T>(string name, string ns = "ci") where T : Resource =>
        Eventually.Get(async () => await _host!.Store.GetAsync<T>(ns, name) is null ? "" : null, $"{typeof(T).Name} {ns}/{name} gone from the store");

    /// <summary>The conditions written on the cluster object, as (type, status, reason) once <paramref name="ready"/> holds.</summary>
    private Task<JsonArray> ConditionsAsync(string plural, string name, Func<JsonArray, bool> ready) =>
        Eventually.Get(() => Task.FromResult(_api.Get(plural, "ci", name)?["status"]?["conditions"] is JsonArray c && ready(c) ? c : null),
            $"status of {plural}/{name}", TimeSpan.FromSeconds(60));

    private static string? Condition(JsonArray conditions, string type, string field = "status") =>
        conditions.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type)?[field]?.GetValue<string>();

    private IReadOnlyList<TestApiServer.Request> Lists(string plural) =>
        _api.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/" + plural, StringComparison.Ordinal) && !r.Query.Contains("watch=true", StringComparison.Ordinal)).ToList();

    private IReadOnlyList<TestApiServer.Request> Watches(string plural) =>
        _api.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/" + plural, StringComparison.Ordinal) && r.Query.Contains("watch=true", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task Objects_created_in_the_cluster_drive_a_webhook_event_to_a_workflow_from_the_template_and_get_their_status()
    {
        Create("workflowtemplates", Template);
        EventSource();
        Create("sensors", Sensor());
        var host = await StartAsync();

        await StoreGet<WorkflowTemplate>("build");
        (await StoreGet<EventSource>("hooks")).Metadata.Annotations![Annotations.KubernetesObject].ShouldBe("eventsources.argoproj.io");
        await StoreGet<Sensor>("builds");
        await host.WaitListeningAsync("ci", "hooks");
        await host.WaitSensorRunningAsync("ci", "builds");

        using (var resp = await _http.PostAsync($"http://127.0.0.1:{_port}/push", new StringContent("""{"branch":"main"}""", Encoding.UTF8, "application/json")))
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);
        var wf = await Eventually.Get(async () => (await host.Store.ListAsync<Workflow>("ci")).FirstOrDefault(), "a workflow from the trigger", TimeSpan.FromSeconds(60));
        wf.Spec.WorkflowTemplateRef!.Name.ShouldBe("build");
        wf.Spec.Arguments!.Parameters!.Single().Value.ShouldBe("main");

        var es = await ConditionsAsync("eventsources", "hooks", c => Condition(c, "Deployed") == "True");
        Condition(es, "SourcesProvided").ShouldBe("True");
        es.Select(c => c!["type"]!.GetValue<string>()).ShouldBe(["Deployed", "SourcesProvided"]); // sorted by type, as Argo keeps them
        es[0]!["lastTransitionTime"].ShouldNotBeNull();
        var sensor = await ConditionsAsync("sensors", "builds", c => Condition(c, "Deployed") == "True");
        Condition(sensor, "DependenciesProvided").ShouldBe("True");
        Condition(sensor, "TriggersProvided").ShouldBe("True");
        // Writing status (a MODIFIED event) restarts nothing: the event source keeps its listener.
        host.Sources.StatusOf("ci", "hooks")!.Value.Listeners.Single().Restarts.ShouldBe(0);
    }

    [Fact]
    public async Task An_update_in_the_cluster_reaches_the_service_and_a_delete_removes_the_object()
    {
        Create("workflowtemplates", Template);
        EventSource();
        Create("sensors", Sensor());
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: ci}, data: {a: '1'}}");
        Create("secrets", "{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: ci}, type: Opaque, data: {token: YWJj}}");
        var host = await StartAsync();
        await host.WaitSensorRunningAsync("ci", "builds");
        (await StoreGet<ConfigMap>("settings")).Data!["a"].ShouldBe("1");
        (await StoreGet<Secret>("creds")).Value("token").ShouldBe("abc");

        var changed = Yaml(Template);
        changed["metadata"]!["labels"]!["version"] = "2";
        _api.Update("workflowtemplates", "ci", changed);
        await Eventually.Get(async () => (await host.Store.GetAsync<WorkflowTemplate>("ci", "build"))?.Metadata.Labels?["version"] == "2" ? "" : null, "the template's new label");
        var cm = Yaml("{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: ci}, data: {a: '2'}}");
        _api.Update("configmaps", "ci", cm);
        await Eventually.Get(async () => (await host.Store.GetAsync<ConfigMap>("ci", "settings"))?.Data?["a"] == "2" ? "" : null, "the ConfigMap's new data");

        _api.Delete("sensors", "ci", "builds").ShouldBeTrue();
        await StoreGone<Sensor>("builds");
        await Eventually.Get(() => Task.FromResult(host.Sensors.StatusOf("ci", "builds") is null ? "" : null), "the sensor stopped");
        _api.Delete("configmaps", "ci", "settings").ShouldBeTrue();
        await StoreGone<ConfigMap>("settings");
        // Nothing was listed twice: every change came through the watch.
        Lists("sensors").Count.ShouldBe(1);
    }

    [Fact]
    public async Task Objects_an_earlier_run_stored_that_the_cluster_lacks_are_deleted_at_the_first_list()
    {
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: in-cluster, namespace: ci}, data: {a: '1'}}");
        await StartAsync(pipeline: false, statusWriter: false, before: h => h.Store.ApplyAllAsync(ManifestReader.Read("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: from-an-old-file, namespace: ci}
            data: {a: "1"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: in-cluster, namespace: ci}
            data: {a: "old"}
            """)));
        await Eventually.Get(() => Task.FromResult(Mirror.Synced ? "" : null), "the mirror synced");
        await StoreGone<ConfigMap>("from-an-old-file");
        (await StoreGet<ConfigMap>("in-cluster")).Data!["a"].ShouldBe("1");
    }

    [Fact]
    public async Task A_dropped_watch_resumes_from_its_resourceVersion_without_a_relist_and_bookmarks_move_it_on()
    {
        await StartAsync(pipeline: false, statusWriter: false);
        await Eventually.Get(() => Task.FromResult(Mirror.Synced && _api.OpenWatches("configmaps") == 1 ? "" : null), "the mirror watching");

        // Changes to other kinds move the global resourceVersion; a bookmark tells the ConfigMap watch so.
        Create("workflowtemplates", Template);
        Create("workflowtemplates", Template.Replace("name: build", "name: build2", StringComparison.Ordinal));
        var before = _api.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _api.SendBookmarks();
        await Eventually.Get(() => Task.FromResult(Mirror.Health["ConfigMap"].ResourceVersion == before ? "" : null), "the bookmark's resourceVersion taken");

        var watchesBefore = Watches("configmaps").Count;
        _api.DropWatches();
        await Eventually.Get(() => Task.FromResult(Watches("configmaps").Count > watchesBefore ? "" : null), "the ConfigMap watch reopened");
        Watches("configmaps")[^1].Query.ShouldContain($"resourceVersion={before}");
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: after-cut, namespace: ci}, data: {a: '1'}}");
        await StoreGet<ConfigMap>("after-cut");
        Lists("configmaps").Count.ShouldBe(1);
        Lists("workflowtemplates").Count.ShouldBe(1);
    }

    [Fact]
    public async Task After_compaction_a_410_Gone_relists_and_a_delete_made_during_the_gap_is_seen()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: doomed, namespace: ci}, data: {a: '1'}}");
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: kept, namespace: ci}, data: {a: '1'}}");
        await StartAsync(pipeline: false, time: time, statusWriter: false);
        await StoreGet<ConfigMap>("doomed");
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("configmaps") == 1 ? "" : null), "the ConfigMap watch open");

        // The API server goes away; meanwhile the object is deleted and the history compacted past the watch's resourceVersion.
        await _api.StopAsync();
        _api.Delete("configmaps", "ci", "doomed").ShouldBeTrue();
        Create("configmaps", "{apiVersion: v1, kind: ConfigMap, metadata: {name: born, namespace: ci}, data: {a: '1'}}");
        _api.Compact();
        await _api.StartAsync();

        await Eventually.Get(() => Task.FromResult(Lists("configmaps").Count == 2 ? "" : null), "a re-list of ConfigMaps", eachPoll: () => time.Advance(TimeSpan.FromSeconds(1)));
        await StoreGone<ConfigMap>("doomed");
        await StoreGet<ConfigMap>("born");
        await StoreGet<ConfigMap>("kept");
    }

    [Fact]
    public async Task API_server_errors_back_off_with_the_clock_recover_and_say_so_in_the_health()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        Create("workflowtemplates", Template);
        _api.FailNext(40, 503); // every kind's first list fails, several times over
        await StartAsync(pipeline: false, time: time, statusWriter: false);

        var failing = await Eventually.Get(() => Task.FromResult(Mirror.Health.GetValueOrDefault("WorkflowTemplate") is { LastError: not null } h ? h : null), "the failure recorded");
        failing.LastError.ShouldStartWith("503 ");
        failing.Synced.ShouldBeFalse();
        // Without the clock moving, nothing is retried: the backoff waits on the injected TimeProvider.
        var requests = _api.Requests.Count;
        await Eventually.Get(() => Task.FromResult(time.HasPendingTimer(ClusterObjectMirror.MaxBackoff) ? "" : null), "a backoff parked on the clock");
        _api.Requests.Count.ShouldBeLessThanOrEqualTo(requests + 8); // at most the kinds already in flight

        var healthy = await Eventually.Get(() => Task.FromResult(Mirror.Health.GetValueOrDefault("WorkflowTemplate") is { Synced: true, LastError: null } h ? h : null),
            "recovered", TimeSpan.FromSeconds(60), eachPoll: () => time.Advance(TimeSpan.FromSeconds(1)));
        healthy.Failures.ShouldBeGreaterThanOrEqualTo(1);
        await StoreGet<WorkflowTemplate>("build");
    }

    [Fact]
    public async Task An_invalid_sensor_in_the_cluster_is_reported_on_its_status_and_the_others_run()
    {
        EventSource();
        Create("workflowtemplates", Template);
        Create("sensors", Sensor());
        var bad = Yaml(Sensor("broken"));
        bad["spec"]!["dependencies"]![0]!.AsObject().Remove("eventSourceName");
        _api.Create("sensors", "ci", bad);
        var host = await StartAsync();

        await host.WaitSensorRunningAsync("ci", "builds");
        var conditions = await ConditionsAsync("sensors", "broken", c => Condition(c, "DependenciesProvided") == "False");
        Condition(conditions, "DependenciesProvided", "reason").ShouldBe("InvalidDependencies");
        Condition(conditions, "DependenciesProvided", "message")!.ShouldContain("eventSourceName");
        Condition(conditions, "Deployed").ShouldBe("False");
        (await host.Store.GetAsync<Sensor>("ci", "broken")).ShouldBeNull();
        Mirror.Refusals.Keys.ShouldContain(new ClusterObjectMirror.ObjectKey("Sensor", "ci", "broken"));

        // Fixed in the cluster: it runs, and its status says so.
        _api.Update("sensors", "ci", Yaml(Sensor("broken")));
        await host.WaitSensorRunningAsync("ci", "broken");
        await ConditionsAsync("sensors", "broken", c => Condition(c, "DependenciesProvided") == "True" && Condition(c, "Deployed") == "True");
    }
}
