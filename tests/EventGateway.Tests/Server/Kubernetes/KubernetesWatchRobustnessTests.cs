using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// The mirror's list+watch when the API server misbehaves mid-way, through the real KubernetesClient: a 410 Gone that
/// arrives as an ERROR event on an open watch re-lists; a connection lost mid-watch (the API server gone for a while,
/// history intact) resumes from the last resourceVersion without a re-list; lists are read in pages (limit/continue)
/// at one resourceVersion, so a write between pages is still seen, and an expired continue token starts the list over.
/// </summary>
public sealed class KubernetesWatchRobustnessTests : IAsyncLifetime
{
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
        _api.BeforeRequest = null;
        if (_host is not null)
        {
            await _host.Get<ClusterObjectMirror>().StopAsync(CancellationToken.None);
            await _host.DisposeAsync();
        }
        await _api.DisposeAsync();
    }

    private async Task<ClusterObjectMirror> StartAsync(int pageSize = ClusterKind.DefaultPageSize, TimeProvider? time = null)
    {
        _host = await EventTestHost.StartAsync(time, configure: o => o.Kubernetes = new KubernetesOptions { Kubeconfig = _kubeconfig, ListPageSize = pageSize });
        var mirror = _host.Get<ClusterObjectMirror>();
        await mirror.StartAsync(CancellationToken.None);
        return mirror;
    }

    private static JsonObject ConfigMap(string name, string value = "1") =>
        (JsonObject)JsonNode.Parse($$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}","namespace":"ci"},"data":{"a":"{{{value}}}"}}""")!;

    private Task<ConfigMap> StoreGet(string name, string? value = null) =>
        Eventually.Get(async () => await _host!.Store.GetAsync<ConfigMap>("ci", name) is { } cm && (value is null || cm.Data?["a"] == value) ? cm : null,
            $"ConfigMap ci/{name}{(value is null ? "" : "=" + value)} in the store");

    private Task StoreGone(string name) =>
        Eventually.Get(async () => await _host!.Store.GetAsync<ConfigMap>("ci", name) is null ? "" : null, $"ConfigMap ci/{name} gone from the store");

    private IReadOnlyList<TestApiServer.Request> Lists(string plural) =>
        _api.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/" + plural, StringComparison.Ordinal) && !r.Query.Contains("watch=true", StringComparison.Ordinal)).ToList();

    private IReadOnlyList<TestApiServer.Request> Watches(string plural) =>
        _api.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/" + plural, StringComparison.Ordinal) && r.Query.Contains("watch=true", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task A_410_Gone_arriving_as_an_ERROR_event_on_an_open_watch_relists_and_the_mirror_goes_on()
    {
        _api.Create("configmaps", "ci", ConfigMap("first"));
        var mirror = await StartAsync();
        await StoreGet("first");
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("configmaps") == 1 ? "" : null), "the ConfigMap watch open");
        Lists("configmaps").Count.ShouldBe(1);
        var watchesBefore = Watches("configmaps").Count;

        // Mid-stream: the watch has been open and delivering; the server ends it with ERROR 410 (the watcher fell behind).
        _api.Create("configmaps", "ci", ConfigMap("while-open"));
        await StoreGet("while-open");
        _api.ExpireWatches();

        await Eventually.Get(() => Task.FromResult(Lists("configmaps").Count == 2 ? "" : null), "a re-list after the ERROR 410");
        await Eventually.Get(() => Task.FromResult(Watches("configmaps").Count > watchesBefore && _api.OpenWatches("configmaps") == 1 ? "" : null), "a new watch");
        // The new watch starts from the re-list's resourceVersion, not the expired one.
        var relistRv = mirror.Health["ConfigMap"].ResourceVersion;
        Watches("configmaps")[^1].Query.ShouldContain($"resourceVersion={relistRv}");
        _api.Create("configmaps", "ci", ConfigMap("after"));
        await StoreGet("after");
        mirror.Health["ConfigMap"].Lists.ShouldBe(2);
        mirror.Health["ConfigMap"].Failures.ShouldBe(0, "a 410 is not a failure: no backoff");
    }

    [Fact]
    public async Task A_connection_lost_mid_watch_resumes_from_the_last_resourceVersion_and_gets_what_changed_meanwhile_without_a_relist()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        _api.Create("configmaps", "ci", ConfigMap("kept"));
        _api.Create("configmaps", "ci", ConfigMap("doomed"));
        var mirror = await StartAsync(time: time);
        await StoreGet("doomed");
        await Eventually.Get(() => Task.FromResult(_api.OpenWatches("configmaps") == 1 ? "" : null), "the ConfigMap watch open");
        _api.Update("configmaps", "ci", ConfigMap("kept", "2"));
        var at = _api.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Eventually.Get(() => Task.FromResult(mirror.Health["ConfigMap"].ResourceVersion == at ? "" : null), "the update's resourceVersion taken");

        // The API server goes away mid-watch (connections cut, new ones refused); the history is intact.
        await _api.StopAsync();
        _api.Delete("configmaps", "ci", "doomed").ShouldBeTrue();
        _api.Update("configmaps", "ci", ConfigMap("kept", "3"));
        _api.Create("configmaps", "ci", ConfigMap("born"));
        await _api.StartAsync();

        // Reconnects (after backoff on the injected clock) resume from where the watch was: the missed changes arrive as events.
        await Eventually.Get(async () => await _host!.Store.GetAsync<ConfigMap>("ci", "born") is not null ? "" : null, "the object created while cut off",
            TimeSpan.FromSeconds(60), eachPoll: () => time.Advance(TimeSpan.FromSeconds(1)));
        await StoreGone("doomed");
        await StoreGet("kept", "3");
        Watches("configmaps").Skip(1).ShouldAllBe(w => w.Query.Contains($"resourceVersion={at}", StringComparison.Ordinal));
        Lists("configmaps").Count.ShouldBe(1, "resumed, not re-listed");
    }

    [Fact]
    public async Task A_list_is_read_in_pages_at_one_resourceVersion_and_a_write_between_pages_reaches_the_store_through_the_watch()
    {
        foreach (var n in new[] { "a1", "a2", "b1", "b2", "c1" }) _api.Create("configmaps", "ci", ConfigMap(n));
        var pages = 0;
        _api.BeforeRequest = req =>
        {
            if (req.Path.Value!.EndsWith("/configmaps", StringComparison.Ordinal) && req.Query["watch"] != "true"
                && req.Query.ContainsKey("continue") && Interlocked.Increment(ref pages) == 1)
            {
                // Between page 1 and page 2: one object not yet listed is deleted, one already listed changes, one is added.
                _api.Delete("configmaps", "ci", "c1").ShouldBeTrue();
                _api.Update("configmaps", "ci", ConfigMap("a1", "2"));
                _api.Create("configmaps", "ci", ConfigMap("z9"));
            }
            return Task.CompletedTask;
        };
        var mirror = await StartAsync(pageSize: 2);

        await Eventually.Get(() => Task.FromResult(mirror.Health.GetValueOrDefault("ConfigMap") is { Synced: true } ? "" : null), "ConfigMaps listed");
        var lists = Lists("configmaps");
        lists.Count.ShouldBe(3, "5 objects in pages of 2");
        lists.ShouldAllBe(l => l.Query.Contains("limit=2", StringComparison.Ordinal));
        lists[0].Query.ShouldNotContain("continue=");
        lists[1].Query.ShouldContain("continue=");
        lists[2].Query.ShouldContain("continue=");
        // The snapshot's pages still had c1; the watch from the list's resourceVersion brings the three writes.
        await StoreGone("c1");
        await StoreGet("a1", "2");
        await StoreGet("z9");
        foreach (var n in new[] { "a2", "b1", "b2" }) await StoreGet(n);
        Lists("configmaps").Count.ShouldBe(3);
    }

    [Fact]
    public async Task An_expired_continue_token_410_starts_the_list_over_from_the_first_page()
    {
        foreach (var n in new[] { "a1", "a2", "b1", "b2" }) _api.Create("configmaps", "ci", ConfigMap(n));
        var compacted = 0;
        _api.BeforeRequest = req =>
        {
            if (req.Path.Value!.EndsWith("/configmaps", StringComparison.Ordinal) && req.Query.ContainsKey("continue") && Interlocked.Increment(ref compacted) == 1)
            {
                _api.Delete("configmaps", "ci", "b1");
                _api.Compact(); // the first page's resourceVersion is gone from the history
            }
            return Task.CompletedTask;
        };
        var mirror = await StartAsync(pageSize: 2);

        await Eventually.Get(() => Task.FromResult(mirror.Health.GetValueOrDefault("ConfigMap") is { Synced: true } ? "" : null), "ConfigMaps listed");
        var lists = Lists("configmaps");
        lists.Select(l => (l.Query.Contains("continue=", StringComparison.Ordinal), l.Status)).ShouldBe([(false, 200), (true, 410), (false, 200), (true, 200)]);
        await StoreGet("a1");
        await StoreGet("a2");
        (await _host!.Store.GetAsync<ConfigMap>("ci", "b1")).ShouldBeNull("deleted before the list that succeeded");
        mirror.Health["ConfigMap"].Failures.ShouldBe(0);
    }

    [Fact]
    public async Task The_test_API_server_pages_with_an_opaque_continue_token_remainingItemCount_and_410_Expired_after_compaction()
    {
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url });
        foreach (var n in new[] { "p1", "p2", "p3" }) _api.Create("configmaps", "ci", ConfigMap(n));

        var first = await client.CoreV1.ListNamespacedConfigMapAsync("ci", limit: 2);
        first.Items.Select(i => i.Metadata.Name).ShouldBe(["p1", "p2"]);
        first.Metadata.RemainingItemCount.ShouldBe(1);
        first.Metadata.ContinueProperty.ShouldNotBeNullOrEmpty();
        _api.Create("configmaps", "ci", ConfigMap("p4"));
        var second = await client.CoreV1.ListNamespacedConfigMapAsync("ci", limit: 2, continueParameter: first.Metadata.ContinueProperty);
        second.Items.Select(i => i.Metadata.Name).ShouldBe(["p3"], "the snapshot of the first page: p4 came later");
        second.Metadata.ContinueProperty.ShouldBeNull();
        second.Metadata.ResourceVersion.ShouldBe(first.Metadata.ResourceVersion);

        var again = await client.CoreV1.ListNamespacedConfigMapAsync("ci", limit: 1);
        _api.Create("configmaps", "ci", ConfigMap("p5"));
        _api.Compact(); // past the token's resourceVersion
        var e = await Should.ThrowAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedConfigMapAsync("ci", limit: 1, continueParameter: again.Metadata.ContinueProperty));
        e.Response.StatusCode.ShouldBe(HttpStatusCode.Gone);
        e.Response.Content.ShouldContain("\"reason\":\"Expired\"");
        e.Response.Content.ShouldContain("The provided continue parameter is too old");
        var bad = await Should.ThrowAsync<HttpOperationException>(() => client.CoreV1.ListNamespacedConfigMapAsync("ci", limit: 1, continueParameter: "not-a-token"));
        bad.Response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }
}
