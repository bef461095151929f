using Shouldly;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>What every EventSource shares: its types, names and webhook contexts are checked at load with their paths.</summary>
public sealed class EventSourceValidationTests
{
    private static IReadOnlyList<string> Errors(string spec)
    {
        var yaml = "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: es}\nspec:\n" + spec;
        try
        {
            ManifestReader.Read(yaml, "es.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors.Select(x => $"{x.Path}: {x.Reason}").ToList();
        }
    }

    [Fact]
    public void A_valid_webhook_source_loads() =>
        Errors("  webhook:\n    push: {port: \"12000\", endpoint: /push, method: POST, authSecret: {name: t, key: token}}\n").ShouldBeEmpty();

    [Fact]
    public void The_port_number_in_YAML_may_be_an_integer() =>
        Errors("  webhook:\n    push: {port: 12000, endpoint: /push, method: POST}\n").ShouldBeEmpty();

    [Theory]
    [InlineData("  webhook:\n    push: {endpoint: /push}\n", "spec.webhook.push.port: missing: the port to listen on")]
    [InlineData("  webhook:\n    push: {port: \"0\", endpoint: /push}\n", "spec.webhook.push.port: '0' is not a port number (1-65535)")]
    [InlineData("  webhook:\n    push: {port: \"1\"}\n", "spec.webhook.push.endpoint: missing: the path to serve, e.g. /push")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /health}\n", "spec.webhook.push.endpoint: /health is reserved for the listener's health check")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /p, method: FETCH}\n", "spec.webhook.push.method: 'FETCH' is not an HTTP method; expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /p, serverCertSecret: {name: tls, key: crt}}\n", "spec.webhook.push.serverKeySecret: TLS needs both serverCertSecret and serverKeySecret")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /p, serverCertPath: /etc/tls.crt}\n", "spec.webhook.push.serverCertPath: file paths on the pod are deprecated in Argo and not read here; use serverCertSecret and serverKeySecret")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /p, authSecret: {name: t}}\n", "spec.webhook.push.authSecret.key: missing: the key within the Secret")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /p, filter: {expression: 'body.a =='}}\n", "spec.webhook.push.filter.expression: not a valid expression")]
    [InlineData("  webhook:\n    push: {port: \"1\", endpoint: /p, colour: red}\n", "spec.webhook.push.colour: unknown field \"colour\"")]
    [InlineData("  nats:\n    x: {url: nats://h}\n", "spec.nats: event source type 'nats' is not supported here; supported: webhook, github, minio, s3, kafka, calendar")]
    [InlineData("  eventBusName: default\n", "spec: no events: declare at least one event under one of webhook, github, minio, s3, kafka, calendar")]
    [InlineData("  webhook:\n    a: {port: \"1\", endpoint: /p}\n    b: {port: \"1\", endpoint: /p}\n", "spec.webhook.b.endpoint: port 1 endpoint /p is also used by spec.webhook.a")]
    public void Bad_fields_are_refused_with_their_path(string spec, string expected) =>
        Errors(spec).ShouldContain(e => e.StartsWith(expected, StringComparison.Ordinal), string.Join("\n", Errors(spec)));
}
