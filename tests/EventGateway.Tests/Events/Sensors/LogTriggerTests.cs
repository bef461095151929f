using Microsoft.Extensions.Logging;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Triggers;

namespace EventGateway.Tests.Events.Sensors;

public sealed class LogTriggerTests : IDisposable
{
    private readonly TriggerTestKit _kit = new();
    private readonly LogTrigger _trigger = new();

    public void Dispose() => _kit.Dispose();

    private static string Sensor(string log) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: shop, namespace: default}
        spec:
          dependencies:
            - {name: order, eventSourceName: webhook, eventName: order}
            - {name: payment, eventSourceName: webhook, eventName: payment}
          triggers:
            - template:
                name: audit
                log: {{log}}
            - template:
                name: other
                log: {{log}}
        """;

    private Task<TriggerResult> Fire(string log = "{}", int trigger = 0)
    {
        var sensor = TriggerTestKit.Sensor(Sensor(log));
        var events = new Dictionary<string, CloudEvent>
        {
            ["payment"] = TriggerTestKit.Event("ev-2", """{"body": {"paid": true}}""", subject: "payment"),
            ["order"] = TriggerTestKit.Event("ev-1", """{"body": {"id": "o-1"}}"""),
        };
        return _trigger.FireAsync(TriggerTestKit.Firing(sensor, events, trigger), _kit.Context, CancellationToken.None);
    }

    [Fact]
    public async Task Logs_each_event_with_sensor_trigger_dependency_context_and_data()
    {
        (await Fire()).Detail.ShouldBe("logged 2 event(s)");

        var entries = _kit.Logger.Entries;
        entries.Count.ShouldBe(2);
        entries.ShouldAllBe(e => e.Level == LogLevel.Information);
        var first = entries[0].Fields;
        first["SensorNamespace"].ShouldBe("default");
        first["Sensor"].ShouldBe("shop");
        first["Trigger"].ShouldBe("audit");
        first["Dependency"].ShouldBe("order");
        first["EventId"].ShouldBe("ev-1");
        first["EventSource"].ShouldBe("webhook");
        first["EventSubject"].ShouldBe("order");
        first["EventType"].ShouldBe("webhook");
        first["EventTime"].ShouldBe("2025-06-01T12:00:00Z");
        first["Data"].ShouldBe("""{"body": {"id": "o-1"}}""");
        entries[1].Fields["Dependency"].ShouldBe("payment");
        entries[1].Fields["EventId"].ShouldBe("ev-2");
        entries[1].Message.ShouldBe(
            """default/shop trigger audit: dependency payment event ev-2 (source webhook, subject payment, type webhook, time 2025-06-01T12:00:00Z): {"body": {"paid": true}}""");
    }

    [Fact]
    public async Task IntervalSeconds_logs_at_most_once_per_interval_per_trigger()
    {
        (await Fire("{intervalSeconds: 60}")).Detail.ShouldBe("logged 2 event(s)");

        _kit.Time.Advance(TimeSpan.FromSeconds(60));
        (await Fire("{intervalSeconds: 60}")).Detail.ShouldBe("not logged: within intervalSeconds 60 of the last log at 2025-06-01T12:00:00Z");
        _kit.Logger.Entries.Count.ShouldBe(2);

        // Another trigger of the same Sensor has its own interval.
        (await Fire("{intervalSeconds: 60}", trigger: 1)).Detail.ShouldBe("logged 2 event(s)");

        _kit.Time.Advance(TimeSpan.FromSeconds(1));
        (await Fire("{intervalSeconds: 60}")).Detail.ShouldBe("logged 2 event(s)");
        _kit.Logger.Entries.Count.ShouldBe(6);
        (await Fire("{intervalSeconds: 60}")).Detail.ShouldStartWith("not logged");
    }

    [Fact]
    public async Task Without_an_interval_every_firing_logs_even_at_the_same_instant()
    {
        await Fire();
        await Fire("{intervalSeconds: 0}");
        _kit.Logger.Entries.Count.ShouldBe(4);
    }

    [Theory]
    [InlineData("{intervalSeconds: -5}", "template.log.intervalSeconds: must be a number of seconds from 0 (log every firing) to 100 years, got -5")]
    [InlineData("{interval: 5}", "template.log.interval: unknown field \"interval\"")]
    public async Task Bad_configuration_is_refused_without_retry(string log, string message)
    {
        var e = await Should.ThrowAsync<TriggerException>(() => Fire(log));
        e.Retryable.ShouldBeFalse();
        e.Message.ShouldBe(message);
        _kit.Logger.Entries.ShouldBeEmpty();
    }
}
