using EventGateway.Events.Kafka;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventGateway.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using EventGateway.Events.EventSources;
using EventGateway.Events.EventSources.Http;
using EventGateway.Events.EventSources.Kafka;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The kafka source against librdkafka's mock cluster on loopback, fed by kcat from another process.</summary>
public sealed partial class KafkaListenerTests
{
    private static string Manifest(string name, string eventName, string settings) =>
        $"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata:
          name: {name}
        spec:
          kafka:
            {eventName}:
        {string.Join("\n", settings.Split('\n').Select(l => "      " + l))}
        """;

    private static JsonElement Data(LoggedEvent e) => JsonDocument.Parse(e.Event.Data).RootElement;

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? \+0000 UTC$")]
    private static partial Regex GoTime();

    [Fact]
    public async Task Consumer_group_turns_every_message_into_one_event_with_argo_data_and_ids()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("orders", partitions: 3);
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Manifest("shop", "orders", $"""
            url: {kafka.Bootstraps}
            topic: orders
            jsonBody: true
            consumerGroup:
              groupName: egw-orders
              oldest: true
              rebalanceStrategy: roundrobin
            metadata:
              team: billing
            """));
        host.Sources.StatusOf("default", "shop")!.Value.Listeners[0].Target.ShouldBe($"kafka://{kafka.Bootstraps}/orders");

        await kafka.ProduceAsync("orders", Enumerable.Range(1, 30).Select(i => $"k{i}:{{\"n\":{i},\"item\":\"x{i}\"}}"),
            headers: [("trace", "abc"), ("origin", "test")]);
        var events = await host.WaitForEventsAsync("shop", 30);

        events.Count.ShouldBe(30);
        events.Select(e => e.Event.Id).Distinct().Count().ShouldBe(30);
        var byPartition = new Dictionary<int, List<long>>();
        foreach (var e in events)
        {
            e.Event.Type.ShouldBe("kafka");
            e.Event.Subject.ShouldBe("orders");
            e.Event.Source.ShouldBe("shop");
            var d = Data(e);
            d.EnumerateObject().Select(p => p.Name).ShouldBe(["topic", "key", "partition", "body", "timestamp", "headers", "metadata"]);
            d.GetProperty("topic").GetString().ShouldBe("orders");
            var n = d.GetProperty("body").GetProperty("n").GetInt32();
            d.GetProperty("body").GetProperty("item").GetString().ShouldBe($"x{n}");
            d.GetProperty("key").GetString().ShouldBe($"k{n}");
            d.GetProperty("headers").GetRawText().ShouldBe("""{"origin":"test","trace":"abc"}""");
            d.GetProperty("metadata").GetRawText().ShouldBe("""{"team":"billing"}""");
            var timestamp = d.GetProperty("timestamp").GetString()!;
            timestamp.ShouldMatch(GoTime().ToString());
            KafkaEventData.GoTimestamp(e.Event.Time).ShouldBe(timestamp);
            (DateTimeOffset.UtcNow - e.Event.Time).ShouldBeLessThan(TimeSpan.FromMinutes(1));

            var partition = d.GetProperty("partition").GetInt32();
            partition.ShouldBeInRange(0, 2);
            var id = e.Event.Id.Split(':');
            string.Join(':', id[..^2]).ShouldBe($"shop:orders:{kafka.Bootstraps.Split(',')[0]}:orders");
            int.Parse(id[^2]).ShouldBe(partition);
            (byPartition.TryGetValue(partition, out var list) ? list : byPartition[partition] = []).Add(long.Parse(id[^1]));
        }
        events.Select(e => Data(e).GetProperty("body").GetProperty("n").GetInt32()).Order().ShouldBe(Enumerable.Range(1, 30));
        // Offsets are the partitions' own: each partition's events are 0..count-1, in order.
        foreach (var offsets in byPartition.Values) offsets.ShouldBe(Enumerable.Range(0, offsets.Count).Select(i => (long)i));
    }

    [Fact]
    public async Task Without_jsonBody_the_body_is_base64_and_a_missing_key_is_empty()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("raw");
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Manifest("rawsrc", "raw", $"""
            url: {kafka.Bootstraps}
            topic: raw
            consumerGroup:
              groupName: egw-raw
              oldest: true
            """));
        await kafka.ProduceAsync("raw", ["hello world", """{"a":1}"""], keyed: false);
        var events = await host.WaitForEventsAsync("rawsrc", 2);

        events.Count.ShouldBe(2);
        var first = Data(events[0]);
        first.GetProperty("body").GetString().ShouldBe(Convert.ToBase64String("hello world"u8));
        first.GetProperty("key").GetString().ShouldBe("");
        first.GetProperty("headers").GetRawText().ShouldBe("{}");
        first.TryGetProperty("metadata", out _).ShouldBeFalse(); // omitempty, as Argo
        Data(events[1]).GetProperty("body").GetString().ShouldBe(Convert.ToBase64String("""{"a":1}"""u8));
    }

    [Fact]
    public async Task Partition_mode_starts_at_newest_and_resumes_after_a_restart_without_replay_or_skip()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("audit", partitions: 2);
        await kafka.ProduceAsync("audit", ["old:1", "old:2"], partition: 1); // before the first start: not read (newest)
        var yaml = Manifest("auditsrc", "audit", $"""
            url: {kafka.Bootstraps}
            topic: audit
            partition: "1"
            """);
        var dataDir = Directory.CreateTempSubdirectory("egw-kafka-").FullName;

        await using (var host = await EventTestHost.StartAsync(dataDir: dataDir))
        {
            await host.ApplyAsync(yaml);
            await kafka.ProduceAsync("audit", ["a:3", "a:4", "a:5"], partition: 1);
            await kafka.ProduceAsync("audit", ["other:0"], partition: 0); // another partition: never read
            (await host.WaitForEventsAsync("auditsrc", 3)).Count.ShouldBe(3);
        }

        await kafka.ProduceAsync("audit", ["b:6", "b:7"], partition: 1); // while the host is down

        await using (var host = await EventTestHost.StartAsync(dataDir: dataDir))
        {
            await host.WaitListeningAsync("default", "auditsrc");
            var events = await host.WaitForEventsAsync("auditsrc", 5);
            events.Select(e => e.Event.Id.Split(':')[^1]).ShouldBe(["2", "3", "4", "5", "6"]);
            events.Select(e => Data(e).GetProperty("body").GetString()).ShouldBe(
                new[] { "3", "4", "5", "6", "7" }.Select(v => Convert.ToBase64String(Encoding.UTF8.GetBytes(v))));
            events.ShouldAllBe(e => e.Event.Id.Contains(":audit:1:"));
            (await host.Log.GetSourceStateAsync("default/auditsrc/audit/offset")).ShouldBe("""{"topic":"audit","partition":1,"offset":7}""");
        }
    }

    [Fact]
    public async Task Filtered_and_non_json_messages_are_not_published_but_the_offset_moves_past_them()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("metrics");
        await using var host = await EventTestHost.StartAsync();
        await host.ApplyAsync(Manifest("metricsrc", "cpu", $$"""
            url: {{kafka.Bootstraps}}
            topic: metrics
            partition: "0"
            jsonBody: true
            filter:
              expression: "body.n > 2"
            """));
        await kafka.ProduceAsync("metrics", ["""m:{"n":1}""", "m:not json", """m:{"n":3}""", """m:{"n":4}""", """m:{"n":5}""", "m:"]);

        var events = await host.WaitForEventsAsync("metricsrc", 3);
        events.Select(e => Data(e).GetProperty("body").GetProperty("n").GetInt32()).ShouldBe([3, 4, 5]);
        events.Select(e => e.Event.Id.Split(':')[^1]).ShouldBe(["2", "3", "4"]);
        await Eventually.Get(async () => await host.Log.GetSourceStateAsync("default/metricsrc/cpu/offset") is """{"topic":"metrics","partition":0,"offset":6}""" ? "" : null,
            "the checkpoint to pass the last (empty, non-JSON) message");
        var status = host.Sources.StatusOf("default", "metricsrc")!.Value.Listeners[0];
        status.Rejected["filtered"].ShouldBe(1);
        status.Rejected["not JSON"].ShouldBe(2);
        // The count moves when the append returns, a moment after the commit the log already shows.
        await Eventually.Get(() => Task.FromResult(status.Accepted == 3 ? "" : null), "three accepted events in the status");
        status.Accepted.ShouldBe(3);
    }

    [Fact]
    public async Task Limit_events_per_second_admits_that_many_per_virtual_second_and_waits_for_the_rest()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("clicks");
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await EventTestHost.StartAsync(time: time);
        await host.ApplyAsync(Manifest("clicksrc", "clicks", $"""
            url: {kafka.Bootstraps}
            topic: clicks
            partition: "0"
            limitEventsPerSecond: 5
            """));
        await kafka.ProduceAsync("clicks", Enumerable.Range(0, 12).Select(i => $"c:{i}"));

        // Settled: the listener has the next messages at hand and is parked on the clock for its next token
        // (a 200 ms wait at 5/s), so nothing more can slip through until the test advances the clock.
        async Task<int> SettledCount(int expected)
        {
            await host.WaitForEventsAsync("clicksrc", expected);
            await Eventually.Get(() => Task.FromResult(time.HasPendingTimer(TimeSpan.FromMilliseconds(250)) ? "" : null), "the limiter to wait on the clock");
            return (await host.Log.QueryAsync(new EventQuery(Source: "clicksrc", Limit: 100))).Count;
        }

        (await SettledCount(5)).ShouldBe(5);
        time.Advance(TimeSpan.FromSeconds(1));
        (await SettledCount(10)).ShouldBe(10);
        time.Advance(TimeSpan.FromSeconds(1));
        // Only 12 messages exist: the last two fit in the refilled bucket.
        (await host.WaitForEventsAsync("clicksrc", 12)).Count.ShouldBe(12);
    }

    [Fact]
    public void The_client_runs_on_librdkafka_redist_2x_never_the_distributions_librdkafka()
    {
        using var kafka = KafkaMockCluster.Start();
        Path.GetFileName(KafkaNative.Path).ShouldBeOneOf("librdkafka.so", "centos8-librdkafka.so");
        KafkaNative.Path!.ShouldStartWith(AppContext.BaseDirectory);
        Confluent.Kafka.Library.Version.ShouldBeGreaterThanOrEqualTo(0x02000000, "librdkafka 2.x");
        File.ReadAllText("/proc/self/maps").ShouldNotContain("librdkafka.so.1", customMessage: "Debian's librdkafka is not loaded");
    }

    [Fact]
    public async Task Members_of_one_consumer_group_share_its_limitEventsPerSecond_by_their_partitions()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("clicks-shared", partitions: 4);
        await using var host = await EventTestHost.StartAsync();
        var source = (EventSource)ManifestReader.Read(Manifest("clicksrc", "clicks", $"""
            url: {kafka.Bootstraps}
            topic: clicks-shared
            limitEventsPerSecond: 8
            consumerGroup:
              groupName: egw-clicks
              rebalanceStrategy: range
            config: |
              consumer:
                group:
                  session:
                    timeout: 10000000000
                  heartbeat:
                    interval: 500000000
            """))[0];
        var spec = source.Spec.Kafka!["clicks"];
        ListenerContext Context(ListenerStatus status) => new(source, "kafka", "clicks", host.Log, host.Get<SecretResolver>(), host.Get<WebhookServer>(),
            host.Store, TimeProvider.System, NullLogger.Instance, status);
        static Task<string> Says(ListenerStatus status, string text, string what) =>
            Eventually.Get(() => Task.FromResult(status.Message is { } m && m.Contains(text, StringComparison.Ordinal) ? m : null), what, TimeSpan.FromSeconds(90));

        var (a, b) = (new ListenerStatus("kafka", "clicks"), new ListenerStatus("kafka", "clicks"));
        await using var first = ListenerRun.Start(new KafkaListener(spec), Context(a));
        (await Says(a, "partitions [0,1,2,3] of 4", "the only member to hold every partition"))
            .ShouldBe("consumer group member with partitions [0,1,2,3] of 4; limitEventsPerSecond 8/s here");

        // A second replica joins: Kafka splits the partitions, and each applies its half of the group's limit.
        await using var second = ListenerRun.Start(new KafkaListener(spec), Context(b));
        await Says(b, "of 4; limitEventsPerSecond 4/s here", "the second member's half");
        await Says(a, "of 4; limitEventsPerSecond 4/s here", "the first member's half");
        var held = new[] { a.Message!, b.Message! }.Select(m => m[(m.IndexOf('[') + 1)..m.IndexOf(']')].Split(',').Select(int.Parse)).ToList();
        held.SelectMany(p => p).Order().ToArray().ShouldBe(new[] { 0, 1, 2, 3 }, "every partition held once, so the shares add up to the limit");
        await second.StopAsync();
        await first.StopAsync();
    }

    [Fact]
    public async Task A_crash_after_the_events_are_durable_but_before_the_offset_is_stored_redelivers_the_same_ids()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("payments");
        await kafka.ProduceAsync("payments", Enumerable.Range(0, 10).Select(i => $"p{i}:{{\"amount\":{i}}}"));
        await using var host = await EventTestHost.StartAsync();
        var source = (EventSource)ManifestReader.Read(Manifest("paysrc", "payments", $"""
            url: {kafka.Bootstraps}
            topic: payments
            jsonBody: true
            consumerGroup:
              groupName: egw-payments
              oldest: true
            # The mock coordinator lets a new member in only once the old one's session expired (despite its
            # LeaveGroup), so each run waits out the previous session. Not shorter: on a busy machine a 3 s session
            # expired mid-run, the partition was revoked, the offsets stored after that were refused, and the next
            # run read everything again (with the same ids: at-least-once, as designed, but not what this test
            # checks). Sarama durations are nanoseconds.
            config: |
              consumer:
                group:
                  session:
                    timeout: 10000000000
                  heartbeat:
                    interval: 2000000000
            """))[0];
        var spec = source.Spec.Kafka!["payments"];
        ListenerContext Context(IEventLog log) => new(source, "kafka", "payments", log, host.Get<SecretResolver>(), host.Get<WebhookServer>(),
            host.Store, TimeProvider.System, NullLogger.Instance, new ListenerStatus("kafka", "payments"));

        // First run: the first append becomes durable, then the process "dies" before it hears back.
        var crashing = new CrashAfterDurableLog(host.Log);
        IReadOnlyList<string> crashedIds;
        await using (var run = ListenerRun.Start(new KafkaListener(spec), Context(crashing)))
        {
            crashedIds = await crashing.Crashed.WaitAsync(TimeSpan.FromSeconds(30));
            crashedIds.ShouldNotBeEmpty();
            await run.StopAsync();
        }

        // Second run, same group: the crashed batch comes again, with the same ids.
        await using (var run = ListenerRun.Start(new KafkaListener(spec), Context(host.Log)))
        {
            var events = await host.WaitForEventsAsync("paysrc", 10 + crashedIds.Count);
            var counts = events.GroupBy(e => e.Event.Id).ToDictionary(g => g.Key, g => g.Count());
            counts.Keys.Order(StringComparer.Ordinal)
                .ShouldBe(Enumerable.Range(0, 10).Select(i => $"paysrc:payments:{kafka.Bootstraps}:payments:0:{i}").Order(StringComparer.Ordinal));
            foreach (var id in crashedIds) counts[id].ShouldBe(2);
            counts.Where(c => !crashedIds.Contains(c.Key)).ShouldAllBe(c => c.Value == 1);
            await run.StopAsync();
        }

        // Third run: the second run stored its offsets once its events were durable, so only the new message comes.
        await kafka.ProduceAsync("payments", ["""p10:{"amount":10}"""]);
        var before = (await host.Log.StatsAsync()).Count;
        await using (var run = ListenerRun.Start(new KafkaListener(spec), Context(host.Log)))
        {
            var after = await host.WaitForEventsAsync("paysrc", (int)before + 1);
            after[^1].Event.Id.ShouldBe($"paysrc:payments:{kafka.Bootstraps}:payments:0:10");
            // One partition, published in order: a replay of offsets 0-9 would be in the log before offset 10.
            (await host.Log.StatsAsync()).Count.ShouldBe(before + 1);
            await run.StopAsync();
        }
    }

    [Fact]
    public async Task Tls_sasl_and_sarama_config_reach_librdkafka_with_pem_strings_from_secrets()
    {
        await using var host = await EventTestHost.StartAsync();
        await host.Store.ApplyAllAsync(ManifestReader.Read("""
            apiVersion: v1
            kind: Secret
            metadata:
              name: kafka-auth
            stringData:
              ca.crt: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----"
              tls.crt: client-cert-pem
              tls.key: client-key-pem
              user: alice
              password: s3cret
            """));
        var source = (EventSource)ManifestReader.Read(Manifest("secure", "orders", """
            url: kafka-0:9093,kafka-1:9093
            topic: orders
            consumerGroup:
              groupName: billing
              rebalanceStrategy: sticky
            tls:
              caCertSecret: {name: kafka-auth, key: ca.crt}
              clientCertSecret: {name: kafka-auth, key: tls.crt}
              clientKeySecret: {name: kafka-auth, key: tls.key}
              insecureSkipVerify: true
            sasl:
              mechanism: SCRAM-SHA-256
              userSecret: {name: kafka-auth, key: user}
              passwordSecret: {name: kafka-auth, key: password}
            config: |
              clientID: billing-egw
              channelBufferSize: 512
              consumer:
                fetch:
                  min: 10
            """))[0];
        var ctx = new ListenerContext(source, "kafka", "orders", host.Log, host.Get<SecretResolver>(), host.Get<WebhookServer>(),
            host.Store, TimeProvider.System, NullLogger.Instance, new ListenerStatus("kafka", "orders"));

        var (settings, ignored) = await KafkaClientConfig.BuildAsync(source.Spec.Kafka!["orders"], ctx, CancellationToken.None);

        settings["bootstrap.servers"].ShouldBe("kafka-0:9093,kafka-1:9093");
        settings["group.id"].ShouldBe("billing");
        settings["partition.assignment.strategy"].ShouldBe("cooperative-sticky");
        settings["enable.auto.offset.store"].ToLowerInvariant().ShouldBe("false");
        settings["security.protocol"].ShouldBe("sasl_ssl");
        settings["ssl.ca.pem"].ShouldBe("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----");
        settings["ssl.certificate.pem"].ShouldBe("client-cert-pem");
        settings["ssl.key.pem"].ShouldBe("client-key-pem");
        settings["enable.ssl.certificate.verification"].ToLowerInvariant().ShouldBe("false");
        settings["sasl.mechanism"].ShouldBe("SCRAM-SHA-256");
        settings["sasl.username"].ShouldBe("alice");
        settings["sasl.password"].ShouldBe("s3cret");
        settings["client.id"].ShouldBe("billing-egw");
        settings["fetch.min.bytes"].ShouldBe("10");
        settings["auto.offset.reset"].ShouldBe("latest"); // oldest unset: newest, as Argo
        ignored.ShouldBe(["channelBufferSize"]);
    }

    [Fact]
    public async Task A_missing_secret_fails_the_listener_naming_the_field_and_key()
    {
        await using var host = await EventTestHost.StartAsync();
        await host.Store.ApplyAllAsync(ManifestReader.Read(Manifest("nosecret", "orders", """
            url: 127.0.0.1:9
            topic: orders
            partition: "0"
            sasl:
              userSecret: {name: missing, key: user}
              passwordSecret: {name: missing, key: password}
            """)));
        var status = (await host.WaitListeningAsync("default", "nosecret", allowFailed: true))[0];
        status.State.ShouldBe(ListenerState.Failed);
        status.Message.ShouldBe("spec.kafka.orders.sasl.userSecret: secret default/missing has no key 'user'");
    }

    /// <summary>A listener run outside the host; disposing it stops it, so a failed assertion cannot leave a consumer behind.</summary>
    private sealed class ListenerRun : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _task = Task.CompletedTask;

        public static ListenerRun Start(IEventListener listener, ListenerContext ctx)
        {
            var run = new ListenerRun();
            run._task = Task.Run(() => listener.RunAsync(ctx, run._stop.Token));
            return run;
        }

        /// <summary>Stops the run and checks that it ended because it was asked to.</summary>
        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Should.ThrowAsync<OperationCanceledException>(_task.WaitAsync(TimeSpan.FromSeconds(30)));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
        }
    }

    /// <summary>
    /// A broker nobody answers for: Failed with the reason, retried with the backoff; a corrected url recovers.
    /// (Not librdkafka's mock broker_set_down/up: bringing a mock broker back re-binds its old port, and when
    /// another socket took that port meanwhile librdkafka aborts the whole test process.)
    /// </summary>
    [Fact]
    public async Task An_unreachable_broker_shows_failed_with_the_reason_and_a_corrected_url_recovers()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("jobs");
        var dead = $"127.0.0.1:{EventTestHost.FreePort()}";
        string Source(string url) => Manifest("jobsrc", "jobs", $"""
            url: {url}
            topic: jobs
            partition: "0"
            connectionBackoff:
              duration: 100ms
              steps: 2
              jitter: 0
            """);
        await using var host = await EventTestHost.StartAsync();
        await host.Store.ApplyAllAsync(ManifestReader.Read(Source(dead)));
        var failed = (await host.WaitListeningAsync("default", "jobsrc", TimeSpan.FromSeconds(30), allowFailed: true))[0];
        failed.State.ShouldBe(ListenerState.Failed);
        failed.Message.ShouldNotBeNull().ShouldStartWith($"kafka: cannot reach {dead}");

        await host.Store.ApplyAllAsync(ManifestReader.Read(Source(kafka.Bootstraps)));
        await Eventually.Get(() => Task.FromResult(host.Sources.StatusOf("default", "jobsrc") is { Listeners: [{ State: ListenerState.Listening }] } ? "" : null),
            "the listener to connect to the corrected url", TimeSpan.FromSeconds(60));
        await kafka.ProduceAsync("jobs", ["j:1"], partition: 0);
        (await host.WaitForEventsAsync("jobsrc", 1))[0].Event.Id.ShouldBe($"jobsrc:jobs:{kafka.Bootstraps}:jobs:0:0");
    }

    /// <summary>An event log whose first non-empty append becomes durable and then never returns: the process died right after the write.</summary>
    private sealed class CrashAfterDurableLog(IEventLog inner) : IEventLog
    {
        private readonly TaskCompletionSource<IReadOnlyList<string>> _crashed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IReadOnlyList<string>> Crashed => _crashed.Task;

        public async Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<EventToAppend> events, SourceCheckpoint? checkpoint = null, CancellationToken ct = default)
        {
            var seqs = await inner.AppendAsync(events, checkpoint, ct);
            if (events.Count > 0 && _crashed.TrySetResult(events.Select(e => e.Event.Id).ToList()))
                await Task.Delay(Timeout.Infinite, ct);
            return seqs;
        }

        public Task<IReadOnlyList<LoggedEvent>> ReadAsync(long afterSequence, int max, CancellationToken ct = default) => inner.ReadAsync(afterSequence, max, ct);
        public Task WaitForAsync(long afterSequence, CancellationToken ct = default) => inner.WaitForAsync(afterSequence, ct);
        public Task<string?> GetSourceStateAsync(string key, CancellationToken ct = default) => inner.GetSourceStateAsync(key, ct);
        public Task<LoggedEvent?> GetAsync(long sequence, CancellationToken ct = default) => inner.GetAsync(sequence, ct);
        public Task<IReadOnlyList<LoggedEvent>> QueryAsync(EventQuery query, CancellationToken ct = default) => inner.QueryAsync(query, ct);
        public Task<EventLogStats> StatsAsync(CancellationToken ct = default) => inner.StatsAsync(ct);
        public bool AcceptsWrites => inner.AcceptsWrites;
    }
}
