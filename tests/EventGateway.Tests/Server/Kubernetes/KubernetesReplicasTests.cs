using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using EventGateway.Model.Manifests;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// Two in-process egw hosts with <c>--kubernetes --lease kubernetes --store postgres://...</c> against the test API
/// server and a real PostgreSQL, each on its own fake clock: one runs the cluster's Sensor, the other takes it over
/// when the first stops renewing (its clock stands still), with a higher epoch recorded where fenced writes check it.
/// The requests both made are then checked against deploy/kubernetes/cluster's RBAC: every request is granted, and
/// every right granted is used (the roles are sufficient and no wider than the code needs).
/// </summary>
public sealed class KubernetesReplicasTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(15);
    private TestApiServer _api = null!;
    private readonly List<EventTestHost> _hosts = [];

    public async Task InitializeAsync() => _api = await TestApiServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var h in _hosts)
        {
            await h.Get<KubernetesLeases>().StopAsync(CancellationToken.None);
            await h.Get<ClusterStatusWriter>().StopAsync(CancellationToken.None);
            await h.Get<ClusterObjectMirror>().StopAsync(CancellationToken.None);
            await h.DisposeAsync();
        }
        await _api.DisposeAsync();
    }

    private async Task<(EventTestHost Host, ParkingFakeTimeProvider Time)> StartAsync(string id, string store)
    {
        var kubeconfig = Path.Combine(Directory.CreateTempSubdirectory("egw-kube-").FullName, "config");
        _api.WriteKubeconfig(kubeconfig);
        File.WriteAllText(kubeconfig, File.ReadAllText(kubeconfig).Replace("namespace: default", "namespace: egw", StringComparison.Ordinal));
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        var host = await EventTestHost.StartAsync(time, pipeline: true, configure: o =>
        {
            o.Kubernetes = new KubernetesOptions { Kubeconfig = kubeconfig };
            o.Store = store;
            o.Lease = "kubernetes";
            o.ReplicaId = id;
            o.LeaseTtl = Ttl;
        });
        _hosts.Add(host);
        await host.Get<KubernetesLeases>().StartAsync(CancellationToken.None);
        await host.Get<ClusterObjectMirror>().StartAsync(CancellationToken.None);
        await host.Get<ClusterStatusWriter>().StartAsync(CancellationToken.None);
        return (host, time);
    }

    private JsonObject Create(string plural, string yaml) => _api.Create(plural, "ci", (JsonObject)JsonNode.Parse(YamlToJson.Convert(yaml).Single().Json)!);

    private static bool Runs(EventTestHost host) => host.Sensors.StatusOf("ci", "builds") is { State: EventGateway.Events.Sensors.SensorState.Running };

    [Fact]
    public async Task Two_replicas_share_the_clusters_sensor_through_a_Lease_and_the_other_takes_it_over_when_the_holder_stops_renewing()
    {
        var store = await server.NewDatabaseAsync();
        Create("eventsources", """
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hooks, namespace: ci}
            spec:
              calendar:
                tick: {interval: 1h}
            """);
        Create("sensors", """
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: builds, namespace: ci}
            spec:
              dependencies:
                - {name: tick, eventSourceName: hooks, eventName: tick}
              triggers:
                - template:
                    name: log
                    log: {}
            """);
        var (a, aTime) = await StartAsync("egw-a", store);
        await Eventually.Get(() => Task.FromResult(Runs(a) ? "" : null), "the sensor running on a");
        var (b, bTime) = await StartAsync("egw-b", store);
        var lease = KubernetesLeases.ObjectName("sensor/ci/builds");
        await Eventually.Get(() => Task.FromResult(_api.Get("leases", "egw", KubernetesLeases.ObjectName("replica/egw-b")) is not null ? "" : null), "b joined");
        // Both clocks move: a renews every TTL/3, and b, however long it watches, does not take the sensor.
        for (var i = 0; i < 6; i++)
        {
            var rv = _api.Get("leases", "egw", lease)!["metadata"]!["resourceVersion"]!.GetValue<string>();
            // In 1 s steps: a loop may not have parked on its clock yet when the test moves it.
            await Eventually.Get(() => Task.FromResult(_api.Get("leases", "egw", lease)!["metadata"]!["resourceVersion"]!.GetValue<string>() != rv ? "" : null), "a's renewal",
                eachPoll: () => aTime.Advance(TimeSpan.FromSeconds(1)));
            var bMember = KubernetesLeases.ObjectName("replica/egw-b");
            var bRv = _api.Get("leases", "egw", bMember)!["metadata"]!["resourceVersion"]!.GetValue<string>();
            await Eventually.Get(() => Task.FromResult(_api.Get("leases", "egw", bMember)!["metadata"]!["resourceVersion"]!.GetValue<string>() != bRv ? "" : null), "b's round",
                eachPoll: () => bTime.Advance(TimeSpan.FromSeconds(1)));
            _api.Get("leases", "egw", lease)!["spec"]!["holderIdentity"]!.GetValue<string>().ShouldBe("egw-a");
            Runs(b).ShouldBeFalse("a holds the sensor's Lease");
        }

        // a stops renewing: its clock stands still, so its renewal loop never wakes. b's clock moves on: after the TTL
        // as b saw the Lease unchanged, b takes it over with the next epoch and runs the sensor.
        await Eventually.Get(() => Task.FromResult(Runs(b) ? "" : null), "b running the sensor", TimeSpan.FromSeconds(90),
            eachPoll: () => bTime.Advance(TimeSpan.FromSeconds(1)));
        var spec = _api.Get("leases", "egw", lease)!["spec"]!;
        spec["holderIdentity"]!.GetValue<string>().ShouldBe("egw-b");
        spec["leaseTransitions"]!.GetValue<long>().ShouldBe(2);
        await using (var c = new NpgsqlConnection(server.ConnectionString(store.Split('/')[^1])))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT holder, epoch FROM egw_leases WHERE name = 'sensor/ci/builds'", c);
            await using var r = await cmd.ExecuteReaderAsync();
            (await r.ReadAsync()).ShouldBeTrue("the hold is recorded where fenced writes check it");
            (r.GetString(0), r.GetInt64(1)).ShouldBe(("egw-b", 2L));
        }

        // a's clock moves again, by one round (TTL/3) and a little: its next round finds b's hold, and it stops the
        // sensor. (Not further: a clock that jumps past 4/5 TTL while a round is in flight gives every hold up.)
        var advanced = 0;
        await Eventually.Get(() => Task.FromResult(!Runs(a) ? "" : null), "a stopped the sensor", TimeSpan.FromSeconds(60),
            eachPoll: () => { if (advanced++ < 7) aTime.Advance(TimeSpan.FromSeconds(1)); });

        // The Sensor's status is its holder's: a, now waiting for the lease, leaves it alone.
        var deployed = await Eventually.Get(() => Task.FromResult(_api.Get("sensors", "ci", "builds")?["status"]?["conditions"]?.AsArray()
            .OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "Deployed")), "the sensor's Deployed condition");
        deployed["status"]!.GetValue<string>().ShouldBe("True");
        deployed["reason"].ShouldBeNull("written by b, which runs it, not by a waiting for its lease");

        // a dies for good: b removes a's membership Lease once it has expired (b's clock only).
        await a.Get<KubernetesLeases>().StopAsync(CancellationToken.None);
        _api.Get("leases", "egw", KubernetesLeases.ObjectName("replica/egw-a")).ShouldNotBeNull()["spec"]!["holderIdentity"].ShouldBeNull("given back at the clean stop");
        await Eventually.Get(() => Task.FromResult(_api.Get("leases", "egw", KubernetesLeases.ObjectName("replica/egw-a")) is null ? "" : null), "a's membership Lease deleted",
            TimeSpan.FromSeconds(60), eachPoll: () => bTime.Advance(TimeSpan.FromSeconds(1)));

        // Everything a, b and their mirrors asked of the API server is granted by deploy/kubernetes/cluster, and every right there was used.
        await Eventually.Get(() => Task.FromResult(_api.Requests.Any(r => r.Method == "PATCH" && r.Path.EndsWith("/status", StringComparison.Ordinal)) ? "" : null), "a status written");
        Create("eventbus", "{apiVersion: argoproj.io/v1alpha1, kind: EventBus, metadata: {name: default, namespace: ci}, spec: {jetstream: {version: latest}}}");
        await Eventually.Get(() => Task.FromResult(_api.Get("eventbus", "ci", "default")?["status"] is not null ? "" : null), "the EventBus status written");
        KubernetesRbac.Check(KubernetesRbac.Load(RepoPath("deploy/kubernetes/cluster")), _api.Requests, serviceAccountNamespace: "egw", leaseNamespace: "egw");
    }

    private static string RepoPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "deploy"))) return Path.Combine(dir.FullName, relative);
        throw new DirectoryNotFoundException(relative);
    }
}
