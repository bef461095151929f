using Shouldly;
using EventGateway.Events.EventSources.Kafka;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>Load-time checks of the kafka source: each bad field is named with the reason.</summary>
public sealed class KafkaValidatorTests
{
    private static (string Path, string Reason)[] Errors(string eventSettings)
    {
        var yaml = $"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata:
              name: k
            spec:
              kafka:
                ev:
            {string.Join("\n", eventSettings.Split('\n').Select(l => "      " + l))}
            """;
        try
        {
            ManifestReader.Read(yaml, "k.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors.Select(x => (x.Path, x.Reason)).ToArray();
        }
    }

    [Fact]
    public void A_complete_consumer_group_source_is_accepted()
    {
        Errors("""
            url: kafka-0:9092,kafka-1:9092
            topic: orders
            jsonBody: true
            version: "2.5.0"
            limitEventsPerSecond: 10
            consumerGroup:
              groupName: g
              oldest: true
              rebalanceStrategy: sticky
            connectionBackoff:
              duration: 10s
              steps: 5
              factor: 2
              jitter: "0.2"
            tls:
              caCertSecret: {name: kafka-tls, key: ca.crt}
            sasl:
              mechanism: SCRAM-SHA-512
              userSecret: {name: kafka-sasl, key: user}
              passwordSecret: {name: kafka-sasl, key: password}
            config: |
              consumer:
                fetch:
                  min: 1
              net:
                MaxOpenRequests: 5
            filter:
              expression: body.kind == "order"
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Both_partition_and_consumer_group_are_accepted_as_in_argo()
    {
        Errors("""
            url: kafka:9092
            topic: t
            partition: "0"
            consumerGroup: {groupName: g}
            """).ShouldBeEmpty();
    }

    [Fact]
    public void Url_and_topic_are_required()
    {
        Errors("""
            partition: "0"
            """).ShouldBe([
            ("spec.kafka.ev.url", "missing: the broker address(es), comma-separated, e.g. kafka:9092"),
            ("spec.kafka.ev.topic", "missing: the topic to consume"),
        ]);
    }

    [Fact]
    public void An_empty_broker_in_the_url_is_refused()
    {
        Errors("""
            url: kafka-0:9092,,kafka-1:9092
            topic: t
            partition: "0"
            """).ShouldBe([("spec.kafka.ev.url", "'kafka-0:9092,,kafka-1:9092' has an empty broker address; separate brokers with single commas")]);
    }

    [Fact]
    public void Partition_or_consumer_group_is_required()
    {
        Errors("""
            url: kafka:9092
            topic: t
            """).ShouldBe([("spec.kafka.ev", "set consumerGroup (to consume as a member of a group) or partition (to read one partition)")]);
    }

    [Theory]
    [InlineData("first")]
    [InlineData("-1")]
    [InlineData("1.5")]
    public void A_partition_that_is_not_a_number_is_refused(string partition)
    {
        Errors($"""
            url: kafka:9092
            topic: t
            partition: "{partition}"
            """).ShouldBe([("spec.kafka.ev.partition", $"'{partition}' is not a partition number (an integer, 0 or more)")]);
    }

    [Fact]
    public void A_consumer_group_needs_a_name_and_a_known_rebalance_strategy()
    {
        Errors("""
            url: kafka:9092
            topic: t
            consumerGroup:
              rebalanceStrategy: fair
            """).ShouldBe([
            ("spec.kafka.ev.consumerGroup.groupName", "missing: the consumer group's name"),
            ("spec.kafka.ev.consumerGroup.rebalanceStrategy", "'fair' is not one of range, roundrobin, sticky"),
        ]);
    }

    [Fact]
    public void An_unknown_sasl_mechanism_is_refused_and_credentials_are_required()
    {
        Errors("""
            url: kafka:9092
            topic: t
            partition: "0"
            sasl:
              mechanism: MD5
            """).ShouldBe([
            ("spec.kafka.ev.sasl.mechanism", "'MD5' is not a SASL mechanism; expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (default PLAIN)"),
            ("spec.kafka.ev.sasl.userSecret", "missing: SASL needs both userSecret and passwordSecret"),
            ("spec.kafka.ev.sasl.passwordSecret", "missing: SASL needs both userSecret and passwordSecret"),
        ]);
    }

    [Fact]
    public void Gssapi_is_refused_with_what_is_supported()
    {
        Errors("""
            url: kafka:9092
            topic: t
            partition: "0"
            sasl:
              mechanism: GSSAPI
              userSecret: {name: s, key: u}
              passwordSecret: {name: s, key: p}
            """).ShouldBe([("spec.kafka.ev.sasl.mechanism",
            "GSSAPI needs a token provider or Kerberos setup that this source has no fields for; supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")]);
    }

    [Fact]
    public void Tls_needs_a_ca_or_a_client_pair()
    {
        Errors("""
            url: kafka:9092
            topic: t
            partition: "0"
            tls:
              clientCertSecret: {name: tls, key: crt}
            """).ShouldBe([("spec.kafka.ev.tls.clientKeySecret", "client TLS needs both clientCertSecret and clientKeySecret")]);
        Errors("""
            url: kafka:9092
            topic: t
            partition: "0"
            tls: {}
            """).ShouldBe([("spec.kafka.ev.tls", "set caCertSecret, or clientCertSecret and clientKeySecret, or both (or insecureSkipVerify)")]);
    }

    [Fact]
    public void Bad_backoff_limit_config_and_filter_are_each_named()
    {
        Errors("""
            url: kafka:9092
            topic: t
            partition: "0"
            limitEventsPerSecond: -1
            connectionBackoff:
              duration: soon
              factor: many
            config: "- not a mapping"
            filter:
              expression: "body.x =="
            """).Select(e => e.Path).ShouldBe([
            "spec.kafka.ev.limitEventsPerSecond",
            "spec.kafka.ev.connectionBackoff.duration",
            "spec.kafka.ev.connectionBackoff.factor",
            "spec.kafka.ev.config",
            "spec.kafka.ev.filter.expression",
        ]);
    }

    [Fact]
    public void Sarama_config_maps_what_librdkafka_has_and_names_the_rest()
    {
        var (settings, ignored) = SaramaConfig.Translate("""
            clientID: billing
            channelBufferSize: 256
            net:
              MaxOpenRequests: 5
            consumer:
              fetch:
                min: 1
              maxWaitTime: 250000000
              offsets:
                initial: -2
              group:
                session:
                  timeout: 10s
            """);
        settings.ShouldBe([
            new("client.id", "billing"),
            new("max.in.flight.requests.per.connection", "5"),
            new("fetch.min.bytes", "1"),
            new("fetch.wait.max.ms", "250"),
            new("auto.offset.reset", "earliest"),
            new("session.timeout.ms", "10000"),
        ]);
        ignored.ShouldBe(["channelBufferSize"]);
        Should.Throw<FormatException>(() => SaramaConfig.Translate("consumer: {fetch: {min: lots}}")).Message
            .ShouldBe("consumer.fetch.min: '\"lots\"' is not a non-negative integer");
    }

    [Fact]
    public void Connection_backoff_takes_argo_defaults_and_go_durations()
    {
        ConnectionRetry.From(null).ShouldBe(new ConnectionRetry(TimeSpan.FromSeconds(1), 1.0, 1.0, 5));
        var retry = ConnectionRetry.From(new ConnectionBackoff
        {
            Duration = System.Text.Json.Nodes.JsonValue.Create(500_000_000L), Factor = System.Text.Json.Nodes.JsonValue.Create(2.0),
            Jitter = System.Text.Json.Nodes.JsonValue.Create(0.0), Steps = 3,
        });
        retry.ShouldBe(new ConnectionRetry(TimeSpan.FromMilliseconds(500), 2.0, 0.0, 3));
        retry.DelayBefore(1, new Random(1)).ShouldBe(TimeSpan.FromMilliseconds(500));
        retry.DelayBefore(3, new Random(1)).ShouldBe(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Timestamps_are_rendered_as_go_time_strings()
    {
        KafkaEventData.GoTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_120)).ShouldBe("2023-11-14 22:13:20.12 +0000 UTC");
        KafkaEventData.GoTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)).ShouldBe("2023-11-14 22:13:20 +0000 UTC");
        KafkaEventData.GoTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_001)).ShouldBe("2023-11-14 22:13:20.001 +0000 UTC");
        KafkaEventData.GoTimestamp(new DateTimeOffset(987, 6, 5, 4, 3, 2, TimeSpan.FromHours(2)).AddTicks(1)).ShouldBe("0987-06-05 02:03:02.0000001 +0000 UTC");
        KafkaEventData.Id("src", "ev", "b0:9092,b1:9092", "t", 2, 41).ShouldBe("src:ev:b0:9092:t:2:41");
    }
}
