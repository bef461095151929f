using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using EventGateway.Events.EventSources.Github;
using EventGateway.Events.Log;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;

namespace EventGateway.Tests.Server.Hosting;

/// <summary>`egw serve --event-bus nats://...` as a real process against a real nats-server.</summary>
public sealed class EventBusServeTests
{
    private const string Secret = "s3cr3t";

    private static string Manifests(int port) => $$$"""
        {{{GithubPush.Source(port, Secret)}}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: ci}
        spec:
          dependencies:
            - {name: push, eventSourceName: github, eventName: push}
          triggers:
            - template:
                name: run-ci
                argoWorkflow:
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: ci-}
                      spec:
                        entrypoint: main
                        arguments: {parameters: [{name: ref}]}
                        templates:
                          - name: main
                            inputs: {parameters: [{name: ref}]}
                            container: {image: alpine, command: [echo, "{{inputs.parameters.ref}}"]}
                  parameters:
                    - src: {dependencyName: push, dataKey: body.ref}
                      dest: spec.arguments.parameters.0.value
        """;

    [Fact]
    public async Task A_signed_push_goes_through_the_bus_fires_the_sensor_and_an_outage_answers_503_then_recovers()
    {
        await using var nats = await NatsServer.StartAsync();
        var port = EventTestHost.FreePort();
        var dir = Directory.CreateTempSubdirectory("egw-manifests-").FullName;
        File.WriteAllText(Path.Combine(dir, "ci.yaml"), Manifests(port));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", dir, "--event-bus", nats.Url]);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        async Task<HttpStatusCode?> Deliver(string delivery, string gitRef)
        {
            using var req = GithubPush.Request($"http://127.0.0.1:{port}/push", Secret, delivery, $$$"""{"ref":"{{{gitRef}}}","repository":{"full_name":"acme/api"}}""");
            try
            {
                using var resp = await http.SendAsync(req);
                return resp.StatusCode;
            }
            catch (HttpRequestException) { return null; } // listener not up yet
        }
        await Eventually.Get(async () => await Deliver("d-1", "refs/heads/main") == HttpStatusCode.OK ? "ok" : null, "the first push acknowledged", TimeSpan.FromSeconds(60));
        (await Deliver("d-1", "refs/heads/main")).ShouldBe(HttpStatusCode.OK); // GitHub's "Redeliver": stored once by the bus

        using var api = serve.CreateClient();
        async Task<JsonArray?> Completed(int count)
        {
            var items = JsonNode.Parse(await api.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray();
            return items.Count >= count && items.All(w => w!["status"]?["phase"]?.GetValue<string>() is "Succeeded" or "Failed" or "Error") ? items : null;
        }
        var first = await Eventually.Get(() => Completed(1), "the push's workflow to complete", TimeSpan.FromMinutes(2));
        first.Single()!["status"]!["phase"]!.GetValue<string>().ShouldBe("Succeeded");

        // The API lists it from the bus (stream query), with the sensor's outcome.
        var listed = JsonNode.Parse(await api.GetStringAsync("api/v1/events?source=github"))!;
        listed["items"]!.AsArray().Select(e => e!["id"]!.GetValue<string>()).ShouldBe(["d-1"]);
        listed["log"]!["count"]!.GetValue<long>().ShouldBe(1);

        // The event is on the bus, not in a file of the data directory.
        File.Exists(Path.Combine(serve.DataDir, "events.db")).ShouldBeFalse();
        await using (var reader = await JetStreamEventLog.OpenAsync(nats.Url, new EventLogOptions(), TimeProvider.System, NullLogger<JetStreamEventLog>.Instance))
        {
            var onBus = await reader.ReadAsync(0, 10);
            onBus.Select(e => e.Event.Source).ShouldBe(["github"]);
        }

        // The bus goes away: the webhook refuses with 503 (GitHub retries later), never a 500, and readiness says so.
        await nats.StopAsync();
        var refused = await Eventually.Get(async () => await Deliver("d-2", "refs/heads/dev") is { } s && s != HttpStatusCode.OK ? s.ToString() : null,
            "a push to be refused while the bus is down", TimeSpan.FromSeconds(60));
        refused.ShouldBe(nameof(HttpStatusCode.ServiceUnavailable));
        using (var ready = await http.GetAsync(new Uri(serve.BaseAddress, "readyz")))
            ready.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);

        // Back: the sender's retry is taken and fires; the first event is still there and fired once.
        await nats.StartAgainAsync();
        await Eventually.Get(async () => await Deliver("d-2", "refs/heads/dev") == HttpStatusCode.OK ? "ok" : null, "the retried push acknowledged", TimeSpan.FromSeconds(90));
        var both = await Eventually.Get(() => Completed(2), "the retried push's workflow to complete", TimeSpan.FromMinutes(2));
        both.Select(w => w!["spec"]!["arguments"]!["parameters"]![0]!["value"]!.ToString()).Order().ShouldBe(["refs/heads/dev", "refs/heads/main"]);
    }

    [Fact]
    public async Task A_bad_or_unreachable_bus_fails_the_start_with_a_message_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("egw-bus-cli-").FullName;
        var (code, _, err) = await CliTests.Egw("serve", "--port", "0", "--data-dir", Path.Combine(dir, "a"), "--event-bus", "http://127.0.0.1:4222");
        code.ShouldNotBe(0);
        err.ShouldContain("--event-bus 'http://127.0.0.1:4222' is not a NATS URL: expected nats://HOST:PORT");

        var port = EventTestHost.FreePort(); // nothing listens there
        (code, _, err) = await CliTests.Egw("serve", "--port", "0", "--data-dir", Path.Combine(dir, "b"), "--event-bus", $"nats://127.0.0.1:{port}");
        code.ShouldNotBe(0);
        err.ShouldContain($"--event-bus: cannot open the event bus at nats://127.0.0.1:{port}");
        err.ShouldNotContain("   at "); // a message, not a stack trace
    }
}
