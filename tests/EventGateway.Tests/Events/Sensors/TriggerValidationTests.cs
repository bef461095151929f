using Shouldly;
using EventGateway.Events.Sensors.Triggers;

namespace EventGateway.Tests.Events.Sensors;

public class TriggerValidationTests
{
    private static readonly string[] Dependencies = ["order"];

    /// <summary>The failures of the first trigger, as "path: reason".</summary>
    private static List<string> Failures(string kind, string body, string policy = "")
    {
        var sensor = TriggerTestKit.Sensor($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: shop}
            spec:
              dependencies:
                - {name: order, eventSourceName: webhook, eventName: order}
              triggers:
                - template:
                    name: t
                    {{kind}}:
            {{string.Join("\n", body.Split('\n').Select(l => "          " + l))}}
            {{(policy.Length == 0 ? "" : "      policy: " + policy)}}
            """);
        var failures = new List<string>();
        TriggerValidation.Validate(sensor.Spec.Triggers![0], "spec.triggers[0]", Dependencies, (path, reason) => failures.Add($"{path}: {reason}"));
        return failures;
    }

    private const string At = "spec.triggers[0].template";

    [Fact]
    public void Complete_http_kafka_and_log_triggers_pass()
    {
        Failures("http", """
            url: https://api.example.com/orders
            method: PUT
            timeout: 10
            headers: {Content-Type: application/json}
            secureHeaders:
              - {name: X-Api-Key, valueFrom: {secretKeyRef: {name: api, key: token} } }
            basicAuth: {username: {name: api, key: user}, password: {name: api, key: password} }
            tls: {insecureSkipVerify: true}
            dynamicHeaders:
              - {src: {dependencyName: order, dataKey: body.region}, dest: X-Region}
            parameters:
              - {src: {dependencyName: order, dataKey: body.url}, dest: url}
            payload:
              - {src: {dependencyName: order, dataKey: body}, dest: ""}
            """, policy: "{status: {allow: [200, 201]}}").ShouldBeEmpty();
        Failures("kafka", """
            url: kafka-1:9092,kafka-2:9092
            topic: orders
            partition: 0
            requiredAcks: -1
            compress: true
            flushFrequency: 100
            partitioningKey: fixed
            version: 2.8.0
            headers: {x-team: billing}
            tls: {caCertSecret: {name: kafka, key: ca.pem}, clientCertSecret: {name: kafka, key: cert.pem}, clientKeySecret: {name: kafka, key: key.pem} }
            sasl: {mechanism: SCRAM-SHA-512, userSecret: {name: kafka, key: user}, passwordSecret: {name: kafka, key: password} }
            payload:
              - {src: {dependencyName: order, dataKey: body.id}, dest: id}
            """).ShouldBeEmpty();
        Failures("log", "intervalSeconds: 30").ShouldBeEmpty();
    }

    [Theory]
    [InlineData("method: POST", "http.url: missing: the URL to call")]
    [InlineData("url: /orders", "http.url: '/orders' is not an absolute http or https URL")]
    [InlineData("url: ftp://files.example.com/x", "http.url: 'ftp://files.example.com/x' is not an absolute http or https URL")]
    [InlineData("url: http://x\nmethod: post", "http.method: 'post' is not one of GET, DELETE, PATCH, POST, PUT")]
    [InlineData("url: http://x\nmethod: HEAD", "http.method: 'HEAD' is not one of GET, DELETE, PATCH, POST, PUT")]
    [InlineData("url: http://x\ntimeout: -1", "http.timeout: must be a number of seconds from 0 (Argo's default, 60) to 86400, got -1")]
    [InlineData("url: http://x\ntimeout: '10s'", "http.timeout: wrong type: expected a number")]
    [InlineData("url: http://x\nurll: http://y", "http.urll: unknown field \"urll\"")]
    [InlineData("url: http://x\ntls: {clientCertSecret: {name: c, key: k} }",
        "http.tls.clientCertSecret: custom CAs and client certificates are not supported for http triggers yet; only tls.insecureSkipVerify is")]
    [InlineData("url: http://x\nsecureHeaders:\n  - {name: X-Key, valueFrom: {configMapKeyRef: {name: cm, key: k} } }",
        "http.secureHeaders[0].valueFrom.configMapKeyRef: values from ConfigMaps are not supported for secure headers; use secretKeyRef")]
    [InlineData("url: http://x\nsecureHeaders:\n  - {name: X-Key, valueFrom: {secretKeyRef: {name: api} } }",
        "http.secureHeaders[0].valueFrom.secretKeyRef.key: missing: the key within the Secret")]
    [InlineData("url: http://x\nsecureHeaders:\n  - {valueFrom: {secretKeyRef: {name: api, key: k} } }", "http.secureHeaders[0].name: missing: the header's name")]
    [InlineData("url: http://x\nbasicAuth: {username: {key: user} }", "http.basicAuth.username.name: missing: the Secret's name")]
    [InlineData("url: http://x\nbasicAuth: {}", "http.basicAuth: set username, password or both (Secret selectors)")]
    [InlineData("url: http://x\nheaders: {'Bad Header': x}", "http.headers.Bad Header: 'Bad Header' is not a valid HTTP header name")]
    [InlineData("url: http://x\ndynamicHeaders:\n  - {src: {dependencyName: order, value: v}, dest: 'a:b'}", "http.dynamicHeaders[0].dest: 'a:b' is not a valid HTTP header name")]
    [InlineData("url: http://x\nparameters:\n  - {src: {dependencyName: order, value: v}}", "http.parameters[0].dest: missing: where to write the value")]
    [InlineData("url: http://x\npayload:\n  - {src: {dependencyName: refund, dataKey: id}, dest: id}", "http.payload[0].src.dependencyName: 'refund' is not a dependency of this Sensor")]
    [InlineData("url: http://x\npayload:\n  - {src: {dependencyName: order, dataKey: id}, dest: id, operation: merge}",
        "http.payload[0].operation: 'merge' is not one of overwrite, append, prepend")]
    [InlineData("url: http://x\npayload:\n  - {dest: id}", "http.payload[0].src: missing: where the value comes from")]
    public void Http_mistakes_are_named_by_field(string http, string failure) =>
        Failures("http", http).ShouldBe([$"{At}.{failure}"]);

    [Theory]
    [InlineData("{status: {allow: [200, 700]}}", "policy.status.allow[1]: '700' is not an HTTP status code (100-599)")]
    [InlineData("{status: {allow: ['200']}}", "policy.status.allow[0]: '\"200\"' is not an HTTP status code (100-599)")]
    [InlineData("{status: {}}", "policy.status.allow: missing: the list of response status codes that count as success")]
    [InlineData("{status: {allow: [200], deny: [500]}}", "policy.status.deny: unknown field \"deny\"")]
    public void Http_status_policy_mistakes_are_named_by_field(string policy, string failure) =>
        Failures("http", "url: http://x", policy).ShouldBe([$"spec.triggers[0].{failure}"]);

    [Theory]
    [InlineData("topic: t\npayload: []", "kafka.url: missing: the broker address(es), comma-separated, e.g. kafka:9092")]
    [InlineData("url: a:9092,,b:9092\ntopic: t\npayload: []", "kafka.url: 'a:9092,,b:9092' has an empty broker address; separate brokers with single commas")]
    [InlineData("url: k:9092\npayload: []", "kafka.topic: missing: the topic to produce to")]
    [InlineData("url: k:9092\ntopic: t", "kafka.payload: missing: the parameters that build the message")]
    [InlineData("url: k:9092\ntopic: t\npayload:\n  - {src: {dependencyName: order, dataKey: id}}", "kafka.payload[0].dest: missing: where to write the value")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\nrequiredAcks: 2", "kafka.requiredAcks: must be 1 (the leader), -1 (all in-sync replicas) or 0 (the default, all), got 2")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\nflushFrequency: -1", "kafka.flushFrequency: must be 0 (the default) or more, got -1")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\nschemaRegistry: {url: 'http://r', schemaId: 3}",
        "kafka.schemaRegistry: producing Avro through a schema registry is not supported; send JSON payloads")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\nsasl: {mechanism: GSSAPI, userSecret: {name: s, key: u}, passwordSecret: {name: s, key: p} }",
        "kafka.sasl.mechanism: 'GSSAPI' is not supported; expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (default PLAIN)")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\nsasl: {userSecret: {name: s, key: u} }", "kafka.sasl.passwordSecret: missing: SASL needs both userSecret and passwordSecret")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\ntls: {clientCertSecret: {name: s, key: c} }", "kafka.tls.clientKeySecret: client TLS needs both clientCertSecret and clientKeySecret")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\nsecureHeaders:\n  - {name: sig}", "kafka.secureHeaders[0].valueFrom: missing: valueFrom.secretKeyRef naming the Secret and key")]
    [InlineData("url: k:9092\ntopic: t\npayload: []\ncompress: snappy", "kafka.compress: wrong type: expected true or false")]
    public void Kafka_mistakes_are_named_by_field(string kafka, string failure) =>
        Failures("kafka", kafka).ShouldBe([$"{At}.{failure}"]);

    [Theory]
    [InlineData("intervalSeconds: -1", "log.intervalSeconds: must be a number of seconds from 0 (log every firing) to 100 years, got -1")]
    [InlineData("intervalSeconds: 1.5", "log.intervalSeconds: wrong type: expected an integer")]
    [InlineData("level: debug", "log.level: unknown field \"level\"")]
    public void Log_mistakes_are_named_by_field(string log, string failure) =>
        Failures("log", log).ShouldBe([$"{At}.{failure}"]);

    [Fact]
    public void Every_mistake_is_reported_not_just_the_first()
    {
        Failures("http", "url: relative\nmethod: FETCH\ntimeout: -2").ShouldBe([
            $"{At}.http.url: 'relative' is not an absolute http or https URL",
            $"{At}.http.method: 'FETCH' is not one of GET, DELETE, PATCH, POST, PUT",
            $"{At}.http.timeout: must be a number of seconds from 0 (Argo's default, 60) to 86400, got -2",
        ]);
    }
}
