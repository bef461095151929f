using System.Text;
using System.Diagnostics;
using System.Text.Json;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors.Triggers;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>The kafka trigger against librdkafka's mock cluster on loopback; messages are consumed back to check them.</summary>
public sealed class KafkaTriggerTests : IDisposable
{
    private const string OrderData = """{"body": {"id": "o-3", "total": 12.50, "items": [{"sku": "a"}]}}""";

    private readonly TriggerTestKit _kit = new();
    private readonly KafkaTrigger _trigger = new();
    private readonly KafkaMockCluster _kafka = KafkaMockCluster.Start();

    public void Dispose()
    {
        _trigger.Dispose();
        _kafka.Dispose();
        _kit.Dispose();
    }

    private static string Sensor(string kafka) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: shop, namespace: default}
        spec:
          dependencies:
            - {name: order, eventSourceName: webhook, eventName: order}
          triggers:
            - template:
                name: publish
                kafka:
        {{string.Join("\n", kafka.Split('\n').Select(l => "          " + l))}}
        """;

    private Task<TriggerResult> Fire(string kafka, string data = OrderData)
    {
        var sensor = TriggerTestKit.Sensor(Sensor(kafka));
        var events = new Dictionary<string, CloudEvent> { ["order"] = TriggerTestKit.Event("ev-1", data) };
        return _trigger.FireAsync(TriggerTestKit.Firing(sensor, events), _kit.Context, CancellationToken.None);
    }

    /// <summary>One message as kcat's JSON envelope shows it.</summary>
    private sealed record Consumed(int Partition, long Offset, long Timestamp, string? Key, string Value, IReadOnlyList<(string Name, string Value)> Headers);

    /// <summary>Reads the whole topic with kcat in its own process, as a real consumer would.</summary>
    private async Task<List<Consumed>> ConsumeAsync(string topic)
    {
        var psi = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-b", _kafka.Bootstraps, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q" }) psi.ArgumentList.Add(a);
        using var kcat = Process.Start(psi)!;
        var stderr = kcat.StandardError.ReadToEndAsync();
        var stdout = await kcat.StandardOutput.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await kcat.WaitForExitAsync(deadline.Token);
        if (kcat.ExitCode != 0) throw new InvalidOperationException($"kcat exited with {kcat.ExitCode}: {await stderr}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var m = JsonDocument.Parse(line).RootElement;
            var headers = new List<(string, string)>();
            if (m.TryGetProperty("headers", out var h))
            {
                var flat = h.EnumerateArray().Select(x => x.GetString()!).ToList();
                for (var i = 0; i + 1 < flat.Count; i += 2) headers.Add((flat[i], flat[i + 1]));
            }

            return new Consumed(m.GetProperty("partition").GetInt32(), m.GetProperty("offset").GetInt64(), m.GetProperty("ts").GetInt64(),
                m.GetProperty("key").GetString(), m.GetProperty("payload").GetString()!, headers);
        }).OrderBy(c => c.Partition).ThenBy(c => c.Offset).ToList();
    }

    /// <summary>sarama's default hash partitioner: FNV-1a over the key, as a signed 32-bit value made absolute.</summary>
    private static int SaramaPartition(string key, int partitions)
    {
        unchecked
        {
            var h = (int)2166136261;
            foreach (var b in Encoding.UTF8.GetBytes(key)) h = (h ^ b) * 16777619;
            return (int)((uint)(h < 0 ? -h : h) % partitions);
        }
    }

    [Fact]
    public async Task Produces_the_payload_with_key_headers_and_timestamp_and_waits_for_the_broker()
    {
        _kafka.CreateTopic("orders", partitions: 3);
        await _kit.AddSecretAsync("kafka-headers", ("sig", "s3cr3t"));
        _kit.Time.Advance(TimeSpan.FromMinutes(5));

        var result = await Fire($$"""
            url: {{_kafka.Bootstraps}}
            topic: orders
            partitioningKey: placeholder
            parameters:
              - {src: {dependencyName: order, dataKey: body.id}, dest: partitioningKey}
            headers: {x-team: billing, x-source: egw}
            secureHeaders:
              - {name: x-signature, valueFrom: {secretKeyRef: {name: kafka-headers, key: sig} } }
            payload:
              - {src: {dependencyName: order, dataKey: body.id}, dest: order.id}
              - {src: {dependencyName: order, dataKey: body.items, useRawData: true}, dest: order.items}
              - {src: {dependencyName: order, dataKey: body.total}, dest: total}
            """);

        // "o-3" separates the partitioners: sarama's FNV-1a gives 2, Java's murmur2 1, librdkafka's default CRC32 1.
        var expectedPartition = SaramaPartition("o-3", 3);
        expectedPartition.ShouldBe(2);
        result.Detail.ShouldBe($"kafka {_kafka.Bootstraps} orders[{expectedPartition}]@0");
        var message = (await ConsumeAsync("orders")).ShouldHaveSingleItem();
        message.Partition.ShouldBe(expectedPartition);
        message.Key.ShouldBe("o-3");
        message.Value.ShouldBe("""{"order":{"id":"o-3","items":[{"sku":"a"}]},"total":"12.5"}""");
        message.Headers.ShouldBe([("x-team", "billing"), ("x-source", "egw"), ("x-signature", "s3cr3t")]);
        message.Timestamp.ShouldBe(TriggerTestKit.Start.AddMinutes(5).ToUnixTimeMilliseconds());
        _kit.Logger.Entries.ShouldAllBe(e => !e.Message.Contains("s3cr3t"));
    }

    [Fact]
    public async Task One_producer_serves_every_firing_with_the_same_configuration()
    {
        _kafka.CreateTopic("a");
        _kafka.CreateTopic("b");
        string Spec(string topic, string extra = "") => $$"""
            url: {{_kafka.Bootstraps}}
            topic: {{topic}}
            {{extra}}
            payload:
              - {src: {dependencyName: order, dataKey: body.id}, dest: id}
            """;

        (await Fire(Spec("a"))).Detail.ShouldEndWith("a[0]@0");
        (await Fire(Spec("a"))).Detail.ShouldEndWith("a[0]@1");
        (await Fire(Spec("b"))).Detail.ShouldEndWith("b[0]@0");
        _trigger.ProducerCount.ShouldBe(1);

        // Compression, acks and flush frequency are producer settings: another configuration, another producer.
        (await Fire(Spec("b", "compress: true\nrequiredAcks: 1\nflushFrequency: 100"))).Detail.ShouldEndWith("b[0]@1");
        _trigger.ProducerCount.ShouldBe(2);
        (await ConsumeAsync("b")).Select(r => r.Value).ShouldBe(["""{"id":"o-3"}""", """{"id":"o-3"}"""]);
        (await ConsumeAsync("a")).Select(r => r.Key).ShouldBe([null, null]);
    }

    [Theory]
    [InlineData("url: BROKERS\ntopic: t",
        "template.kafka.payload: missing: the parameters that build the message")]
    [InlineData("url: BROKERS\ntopic: t\nschemaRegistry: {url: 'http://registry', schemaId: 1}\npayload: []",
        "template.kafka.schemaRegistry: producing Avro through a schema registry is not supported; send JSON payloads")]
    [InlineData("url: BROKERS\ntopic: t\nsasl: {mechanism: PLAIN, userSecret: {name: kafka, key: user}, passwordSecret: {name: kafka, key: password} }\npayload: []",
        "template.kafka.sasl.userSecret: secret default/kafka has no key 'user'")]
    [InlineData("url: BROKERS\ntopic: t\npayload:\n  - {src: {dependencyName: order, dataKey: body.nope}, dest: x}",
        "template.kafka.payload[0]: unable to resolve the value from dependency \"order\": dataKey \"body.nope\" does not exist in the event data and no default value is set")]
    [InlineData("url: BROKERS\ntopic: t\nparameters:\n  - {src: {dependencyName: order, value: ''}, dest: topic}\npayload: []",
        "template.kafka.topic: missing: the topic to produce to")]
    public async Task Bad_configuration_is_refused_without_retry(string kafka, string message)
    {
        var e = await Should.ThrowAsync<TriggerException>(() => Fire(kafka.Replace("BROKERS", _kafka.Bootstraps, StringComparison.Ordinal)));
        e.Retryable.ShouldBeFalse();
        e.Message.ShouldBe(message);
        _trigger.ProducerCount.ShouldBe(0);
    }
}
