using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Shouldly;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// The test API server itself, through the real KubernetesClient where the client has a call for it: every test of
/// Kubernetes mode stands on these semantics, so they are checked against the API conventions here.
/// </summary>
public sealed class TestApiServerTests : IAsyncLifetime
{
    private TestApiServer _api = null!;
    private k8s.Kubernetes _client = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync();
        _client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _http.Dispose();
        await _api.DisposeAsync();
    }

    private static JsonObject Sensor(string name, string? rv = null, string label = "a") => new()
    {
        ["apiVersion"] = "argoproj.io/v1alpha1",
        ["kind"] = "Sensor",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["team"] = label }, ["resourceVersion"] = rv },
        ["spec"] = new JsonObject { ["template"] = new JsonObject { ["serviceAccountName"] = "x" } },
    };

    private static async Task<int> StatusOf(Func<Task> call)
    {
        var e = await Should.ThrowAsync<HttpOperationException>(call);
        return (int)e.Response.StatusCode;
    }

    [Fact]
    public async Task Discovery_lists_the_core_and_argoproj_groups_with_their_resources_and_status_subresources()
    {
        var groups = await _client.Apis.GetAPIVersionsAsync();
        groups.Groups.Select(g => g.Name).ShouldContain("argoproj.io");
        var resources = JsonNode.Parse(await _http.GetStringAsync($"{_api.Url}/apis/argoproj.io/v1alpha1"))!["resources"]!.AsArray()
            .Select(r => (r!["name"]!.GetValue<string>(), r["namespaced"]!.GetValue<bool>())).ToList();
        resources.ShouldContain(("sensors", true));
        resources.ShouldContain(("sensors/status", true));
        resources.ShouldContain(("clusterworkflowtemplates", false));
        var core = await _client.CoreV1.GetAPIResourcesAsync();
        core.Resources.Select(r => r.Name).ShouldContain("configmaps");
        (await _http.GetAsync($"{_api.Url}/apis/nope.io/v1")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Create_get_update_delete_follow_resourceVersions_and_answer_Status_objects()
    {
        var created = (JsonElement)await _client.CustomObjects.CreateNamespacedCustomObjectAsync(Sensor("s1"), "argoproj.io", "v1alpha1", "default", "sensors");
        var rv1 = created.GetProperty("metadata").GetProperty("resourceVersion").GetString()!;
        created.GetProperty("metadata").GetProperty("uid").GetString().ShouldNotBeNullOrEmpty();
        (await StatusOf(() => _client.CustomObjects.CreateNamespacedCustomObjectAsync(Sensor("s1"), "argoproj.io", "v1alpha1", "default", "sensors"))).ShouldBe(409);

        var updated = (JsonElement)await _client.CustomObjects.ReplaceNamespacedCustomObjectAsync(Sensor("s1", rv1, "b"), "argoproj.io", "v1alpha1", "default", "sensors", "s1");
        long.Parse(updated.GetProperty("metadata").GetProperty("resourceVersion").GetString()!).ShouldBeGreaterThan(long.Parse(rv1));
        // Stale: the first resourceVersion again.
        var stale = await Should.ThrowAsync<HttpOperationException>(() => _client.CustomObjects.ReplaceNamespacedCustomObjectAsync(Sensor("s1", rv1, "c"), "argoproj.io", "v1alpha1", "default", "sensors", "s1"));
        ((int)stale.Response.StatusCode).ShouldBe(409);
        var status = JsonNode.Parse(stale.Response.Content)!;
        status["kind"]!.GetValue<string>().ShouldBe("Status");
        status["reason"]!.GetValue<string>().ShouldBe("Conflict");
        status["message"]!.GetValue<string>().ShouldContain("the object has been modified");
        // A custom resource needs a resourceVersion to be replaced.
        (await StatusOf(() => _client.CustomObjects.ReplaceNamespacedCustomObjectAsync(Sensor("s1"), "argoproj.io", "v1alpha1", "default", "sensors", "s1"))).ShouldBe(422);

        var missing = await Should.ThrowAsync<HttpOperationException>(() => _client.CustomObjects.GetNamespacedCustomObjectAsync("argoproj.io", "v1alpha1", "default", "sensors", "nope"));
        ((int)missing.Response.StatusCode).ShouldBe(404);
        JsonNode.Parse(missing.Response.Content)!["message"]!.GetValue<string>().ShouldBe("sensors.argoproj.io \"nope\" not found");

        var nameless = Sensor("x");
        nameless["metadata"]!.AsObject().Remove("name");
        (await StatusOf(() => _client.CustomObjects.CreateNamespacedCustomObjectAsync(nameless, "argoproj.io", "v1alpha1", "default", "sensors"))).ShouldBe(422);
        (await StatusOf(() => _client.CustomObjects.CreateNamespacedCustomObjectAsync(Sensor("Bad_Name"), "argoproj.io", "v1alpha1", "default", "sensors"))).ShouldBe(422);

        await _client.CustomObjects.DeleteNamespacedCustomObjectAsync("argoproj.io", "v1alpha1", "default", "sensors", "s1");
        (await StatusOf(() => _client.CustomObjects.GetNamespacedCustomObjectAsync("argoproj.io", "v1alpha1", "default", "sensors", "s1"))).ShouldBe(404);

        // Cluster-scoped kinds live at the group/version root.
        var cwt = new JsonObject { ["apiVersion"] = "argoproj.io/v1alpha1", ["kind"] = "ClusterWorkflowTemplate", ["metadata"] = new JsonObject { ["name"] = "org" }, ["spec"] = new JsonObject() };
        await _client.CustomObjects.CreateClusterCustomObjectAsync(cwt, "argoproj.io", "v1alpha1", "clusterworkflowtemplates");
        var got = (JsonElement)await _client.CustomObjects.GetClusterCustomObjectAsync("argoproj.io", "v1alpha1", "clusterworkflowtemplates", "org");
        got.GetProperty("metadata").TryGetProperty("namespace", out _).ShouldBeFalse();
    }

    [Fact]
    public async Task Merge_and_json_patches_apply_and_the_status_subresource_changes_only_status()
    {
        await _client.CustomObjects.CreateNamespacedCustomObjectAsync(Sensor("s1"), "argoproj.io", "v1alpha1", "default", "sensors");
        var merged = (JsonElement)await _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""{"metadata":{"labels":{"team":null,"tier":"web"}}}""", V1Patch.PatchType.MergePatch), "argoproj.io", "v1alpha1", "default", "sensors", "s1");
        merged.GetProperty("metadata").GetProperty("labels").GetRawText().ShouldBe("""{"tier":"web"}""");
        var patched = (JsonElement)await _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""[{"op":"replace","path":"/spec/template/serviceAccountName","value":"y"},{"op":"add","path":"/spec/dependencies","value":[]}]""", V1Patch.PatchType.JsonPatch),
            "argoproj.io", "v1alpha1", "default", "sensors", "s1");
        patched.GetProperty("spec").GetProperty("template").GetProperty("serviceAccountName").GetString().ShouldBe("y");
        patched.GetProperty("metadata").GetProperty("generation").GetInt64().ShouldBe(2);
        (await StatusOf(() => _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch("""[{"op":"test","path":"/spec/template/serviceAccountName","value":"z"}]""", V1Patch.PatchType.JsonPatch), "argoproj.io", "v1alpha1", "default", "sensors", "s1"))).ShouldBe(422);

        var withStatus = (JsonElement)await _client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch("""{"spec":{"template":null},"status":{"conditions":[{"type":"Deployed","status":"True"}]}}""", V1Patch.PatchType.MergePatch),
            "argoproj.io", "v1alpha1", "default", "sensors", "s1");
        withStatus.GetProperty("status").GetProperty("conditions")[0].GetProperty("type").GetString().ShouldBe("Deployed");
        withStatus.GetProperty("spec").GetProperty("template").GetProperty("serviceAccountName").GetString().ShouldBe("y");
        // The main resource does not change status.
        var body = JsonNode.Parse(withStatus.GetRawText())!.AsObject();
        body["status"] = new JsonObject();
        var replaced = (JsonElement)await _client.CustomObjects.ReplaceNamespacedCustomObjectAsync(body, "argoproj.io", "v1alpha1", "default", "sensors", "s1");
        replaced.GetProperty("status").GetProperty("conditions").GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Lists_filter_by_label_selector_field_selector_and_namespace()
    {
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a", Labels = new Dictionary<string, string> { ["env"] = "prod" } } }, "ns1");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b", Labels = new Dictionary<string, string> { ["env"] = "dev" } } }, "ns1");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "ns2");
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync()).Items.Count.ShouldBe(3);
        (await _client.CoreV1.ListNamespacedConfigMapAsync("ns1")).Items.Count.ShouldBe(2);
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: "env=prod")).Items.Single().Metadata.Name.ShouldBe("a");
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: "env in (prod,dev)")).Items.Count.ShouldBe(2);
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: "env notin (prod)")).Items.Select(i => i.Metadata.Name).Order().ShouldBe(["b", "c"]);
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: "!env")).Items.Single().Metadata.Name.ShouldBe("c");
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: "env,env!=dev")).Items.Single().Metadata.Name.ShouldBe("a");
        (await StatusOf(() => _client.CoreV1.ListConfigMapForAllNamespacesAsync(labelSelector: "env in prod"))).ShouldBe(400);
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: "metadata.name=b")).Items.Single().Metadata.NamespaceProperty.ShouldBe("ns1");
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: "metadata.namespace!=ns1")).Items.Single().Metadata.Name.ShouldBe("c");
        (await StatusOf(() => _client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: "data.x=1"))).ShouldBe(400);
    }

    [Fact]
    public async Task A_watch_resumes_from_a_resourceVersion_sends_bookmarks_and_answers_410_after_compaction()
    {
        var list = await _client.CoreV1.ListConfigMapForAllNamespacesAsync();
        var from = list.Metadata.ResourceVersion;
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, "default");
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("a", "default");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<(WatchEventType, string)>();
        await foreach (var (type, cm) in _client.CoreV1.WatchListConfigMapForAllNamespacesAsync(resourceVersion: from, allowWatchBookmarks: true, cancellationToken: cts.Token))
        {
            seen.Add((type, type == WatchEventType.Bookmark ? cm.Metadata.ResourceVersion : cm.Metadata.Name));
            if (seen.Count == 2) _api.SendBookmarks();
            if (seen.Count == 3) break;
        }
        seen.ShouldBe([(WatchEventType.Added, "a"), (WatchEventType.Deleted, "a"), (WatchEventType.Bookmark, _api.ResourceVersion.ToString())]);

        _api.Compact();
        Exception? error = null;
        await foreach (var _ in _client.CoreV1.WatchListConfigMapForAllNamespacesAsync(resourceVersion: from, onError: e => error = e, cancellationToken: cts.Token)) { }
        error.ShouldBeOfType<KubernetesException>().Status.Code.ShouldBe(410);
    }

    [Fact]
    public async Task A_dropped_watch_ends_the_stream_and_injected_failures_answer_500_and_503()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ended = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in _client.CoreV1.WatchListConfigMapForAllNamespacesAsync(resourceVersion: _api.ResourceVersion.ToString(), onError: _ => { }, cancellationToken: cts.Token)) { }
            }
            catch (HttpRequestException e) when (e.InnerException is IOException) { } // the cut connection
        });
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("configmaps") == 1 ? "" : null), "the watch open");
        _api.DropWatches();
        await ended.WaitAsync(cts.Token);

        _api.FailNext(2, 503);
        (await StatusOf(() => _client.CoreV1.ListConfigMapForAllNamespacesAsync())).ShouldBe(503);
        (await StatusOf(() => _client.CoreV1.ListConfigMapForAllNamespacesAsync())).ShouldBe(503);
        (await _client.CoreV1.ListConfigMapForAllNamespacesAsync()).Items.ShouldBeEmpty();
    }

    [Fact]
    public async Task Objects_survive_a_stop_and_start_on_the_same_port()
    {
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "kept" } }, "default");
        await _api.StopAsync();
        await Should.ThrowAsync<HttpRequestException>(() => _client.CoreV1.ListNamespacedConfigMapAsync("default"));
        await _api.StartAsync();
        (await _client.CoreV1.ListNamespacedConfigMapAsync("default")).Items.Single().Metadata.Name.ShouldBe("kept");
    }
}
