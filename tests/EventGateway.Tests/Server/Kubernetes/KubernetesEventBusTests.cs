using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Server.Kubernetes;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// EventBus objects in the cluster: the service's bus is chosen at start (--event-bus) and never switched at runtime,
/// so each EventBus says on its status (Argo's Configured and Deployed conditions) whether it is the bus in use, and
/// if not, which flag would make it so or why it cannot be.
/// </summary>
public sealed class KubernetesEventBusTests : IAsyncLifetime
{
    private TestApiServer _api = null!;
    private NatsServer _nats = null!;
    private EventTestHost? _host;

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync();
        _nats = await NatsServer.StartAsync();
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
        await _nats.DisposeAsync();
    }

    private void Bus(string name, JsonObject spec) => _api.Create("eventbus", "ci", new JsonObject
    {
        ["apiVersion"] = "argoproj.io/v1alpha1",
        ["kind"] = "EventBus",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "ci" },
        ["spec"] = spec,
    });

    private Task<JsonArray> Conditions(string name) =>
        Eventually.Get(() => Task.FromResult(_api.Get("eventbus", "ci", name)?["status"]?["conditions"] as JsonArray), $"status of eventbus/{name}", TimeSpan.FromSeconds(60));

    private static (string? Status, string? Reason, string? Message) Condition(JsonArray conditions, string type) =>
        conditions.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type) is { } c
            ? (c["status"]?.GetValue<string>(), c["reason"]?.GetValue<string>(), c["message"]?.GetValue<string>())
            : (null, null, null);

    [Fact]
    public async Task Each_EventBus_says_whether_it_is_the_services_bus_and_what_would_make_it_so()
    {
        Bus("default", new JsonObject { ["jetstreamExotic"] = new JsonObject { ["url"] = _nats.Url } });
        Bus("managed", new JsonObject { ["jetstream"] = new JsonObject { ["version"] = "latest" } });
        Bus("kafka", new JsonObject { ["kafka"] = new JsonObject { ["url"] = "kafka:9092" } });
        var kubeconfig = _api.WriteKubeconfig(Path.Combine(Directory.CreateTempSubdirectory("egw-kube-").FullName, "config"));
        _host = await EventTestHost.StartAsync(configure: o =>
        {
            o.Kubernetes = new KubernetesOptions { Kubeconfig = kubeconfig };
            o.EventBus = _nats.Url;
        });
        await _host.Get<ClusterObjectMirror>().StartAsync(CancellationToken.None);
        await _host.Get<ClusterStatusWriter>().StartAsync(CancellationToken.None);

        var inUse = await Conditions("default");
        Condition(inUse, "Configured").Status.ShouldBe("True");
        Condition(inUse, "Deployed").ShouldBe(("True", "InUse", $"this service's event log is this JetStream bus (egw serve --event-bus {_nats.Url})"));

        var managed = Condition(await Conditions("managed"), "Deployed");
        managed.Status.ShouldBe("False");
        managed.Reason.ShouldBe("NotInUse");
        managed.Message!.ShouldContain("restart it with --event-bus nats://eventbus-managed-js-svc.ci.svc:4222");
        managed.Message!.ShouldContain($"it uses --event-bus {_nats.Url}");

        var kafka = Condition(await Conditions("kafka"), "Configured");
        kafka.Status.ShouldBe("False");
        kafka.Reason.ShouldBe("InvalidSpec");
        kafka.Message!.ShouldContain("spec.kafka is not supported");

        // Changed in the cluster to point elsewhere: its status follows.
        var changed = _api.Get("eventbus", "ci", "default")!;
        changed["spec"] = new JsonObject { ["jetstreamExotic"] = new JsonObject { ["url"] = "nats://elsewhere:4222" } };
        _api.Update("eventbus", "ci", changed);
        await Eventually.Get(() => Task.FromResult(_api.Get("eventbus", "ci", "default")?["status"]?["conditions"] is JsonArray c && Condition(c, "Deployed").Status == "False" ? "" : null),
            "the changed EventBus reported not in use", TimeSpan.FromSeconds(60));
    }
}
