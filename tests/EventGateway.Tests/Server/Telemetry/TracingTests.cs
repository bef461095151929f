using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using EventGateway.Events.EventSources;
using EventGateway.Events.EventSources.Github;
using EventGateway.Events.Sensors;
using EventGateway.Model;
using EventGateway.Server.Telemetry;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Shouldly;

namespace EventGateway.Tests.Server.Telemetry;

/// <summary>
/// One trace per event: a signed GitHub push through the real listener, the sensor's stages, its trigger, the workflow it
/// created and that workflow's step, every span in one trace with the right parents; and `--otlp-endpoint` exporting
/// those spans from a real `egw serve` to an OTLP/HTTP receiver.
/// </summary>
public sealed class TracingTests
{
    private const string Secret = "s3cr3t";

    private static string Manifests(int port) => $$$"""
        {{{GithubPush.Source(port, Secret, "ci")}}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: ci, namespace: ci}
        spec:
          dependencies:
            - name: push
              eventSourceName: github
              eventName: push
              filters:
                data:
                  - {path: headers.X-Github-Event, type: string, value: [push]}
          triggers:
            - template:
                name: run-ci
                argoWorkflow:
                  operation: submit
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: ci-}
                      spec:
                        entrypoint: build
                        templates:
                          - name: build
                            steps:
                              - - {name: compile, template: compile}
                          - name: compile
                            container: {image: alpine, command: [sh, -c, "echo built"]}
        """;

    private static async Task<HttpStatusCode> PushAsync(int port, string delivery)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var req = GithubPush.Request($"http://127.0.0.1:{port}/push", Secret, delivery, """{"ref":"refs/heads/main","repository":{"full_name":"acme/api"}}""");
        using var resp = await http.SendAsync(req);
        return resp.StatusCode;
    }

    [Fact]
    public async Task A_signed_push_is_one_trace_from_the_listener_through_the_sensor_stages_and_trigger_to_the_workflow_and_its_step()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => OtlpTracing.Sources.Contains(s.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        await host.ApplyAsync(Manifests(port));
        var delivery = Guid.NewGuid().ToString();
        (await PushAsync(port, delivery)).ShouldBe(HttpStatusCode.OK);
        var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        // The listener's span is the root of the event's trace (other tests' spans may be here too: the listener is process-wide).
        var receive = spans.Single(s => s.OperationName == "github receive" && (string?)s.GetTagItem("cloudevents.event_id") == delivery);
        receive.ParentSpanId.ShouldBe(default);
        var trace = receive.TraceId;
        Activity One(string name) => spans.Where(s => s.TraceId == trace && s.OperationName == name).ShouldHaveSingleItem(name);
        var all = await Eventually.Get(() => Task.FromResult(spans.Count(s => s.TraceId == trace && s.OperationName is "workflow" or "node") == 2
            ? spans.Where(s => s.TraceId == trace).ToList() : null), "the workflow and step spans in the event's trace");

        var sensor = One("sensor");
        var dependency = One("dependency");
        var conditions = One("conditions");
        var dedup = One("dedup");
        var trigger = One("trigger");
        var workflow = One("workflow");
        var node = One("node");
        sensor.ParentSpanId.ShouldBe(receive.SpanId);
        foreach (var stage in new[] { dependency, conditions, dedup, trigger }) stage.ParentSpanId.ShouldBe(sensor.SpanId, stage.OperationName);
        workflow.ParentSpanId.ShouldBe(trigger.SpanId);
        node.ParentSpanId.ShouldBe(workflow.SpanId);
        all.Select(s => s.OperationName).ShouldNotContain("rateLimit"); // no rateLimit in this sensor: no such stage

        dependency.GetTagItem("outcome").ShouldBe("passed");
        conditions.GetTagItem("outcome").ShouldBe("met");
        dedup.GetTagItem("outcome").ShouldBe("unique");
        trigger.GetTagItem("outcome").ShouldBe("triggered");
        sensor.GetTagItem("sensor_name").ShouldBe("ci");
        workflow.GetTagItem("name").ShouldBe(wf.Name);
        workflow.GetTagItem("phase").ShouldBe(WorkflowPhase.Succeeded);
        node.GetTagItem("node_name").ShouldBe("compile");
        node.GetTagItem("node_phase").ShouldBe(NodePhase.Succeeded);
        // Spans take their times from the status: the step's span lies within the workflow's.
        node.StartTimeUtc.ShouldBeGreaterThanOrEqualTo(workflow.StartTimeUtc);
        (node.StartTimeUtc + node.Duration).ShouldBeLessThanOrEqualTo(workflow.StartTimeUtc + workflow.Duration);

        // The context travels durably: with the event in the log (CloudEvents traceparent) and on the workflow (annotation).
        var logged = (await host.WaitForEventsAsync("github", 1)).Single();
        logged.Event.TraceParent.ShouldBe(receive.Id);
        wf.Metadata.Annotations![Annotations.TraceParent].ShouldBe(trigger.Id);
    }

    [Fact]
    public async Task A_workflow_resumed_after_a_restart_still_joins_the_trace_of_the_event_that_created_it()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => OtlpTracing.Sources.Contains(s.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        var port = EventTestHost.FreePort();
        var dataDir = Directory.CreateTempSubdirectory("egw-trace-restart-").FullName;
        // The workflow waits at a suspend step, so the service stops while it runs.
        var yaml = Manifests(port).Replace("- - {name: compile, template: compile}",
            "- - {name: approve, template: approve}\n" + new string(' ', 22) + "- - {name: compile, template: compile}\n"
            + new string(' ', 18) + "- name: approve\n" + new string(' ', 20) + "suspend: {}", StringComparison.Ordinal);
        yaml.ShouldContain("suspend: {}");
        var delivery = Guid.NewGuid().ToString();
        string name;
        await using (var first = await EventTestHost.StartAsync(dataDir: dataDir, pipeline: true))
        {
            await first.ApplyAsync(yaml);
            (await PushAsync(port, delivery)).ShouldBe(HttpStatusCode.OK);
            var running = await Eventually.Get(async () => (await first.Store.ListAsync<Workflow>()).FirstOrDefault(w =>
                w.Status?.Nodes?.Values.Any(n => n.DisplayName == "approve" && n.Phase == NodePhase.Running) == true), "the workflow waiting at its suspend step", TestEngine.Patience);
            name = running.Name;
        }
        var receive = spans.Single(s => s.OperationName == "github receive" && (string?)s.GetTagItem("cloudevents.event_id") == delivery);
        var trigger = spans.Single(s => s.TraceId == receive.TraceId && s.OperationName == "trigger");
        spans.ShouldNotContain(s => s.TraceId == receive.TraceId && s.OperationName == "workflow"); // still running: not ended

        await using var second = await EventTestHost.StartAsync(dataDir: dataDir, pipeline: true);
        await second.Get<EventGateway.Workflows.Controls.WorkflowControls>().ResumeAsync("ci", name);
        var wf = (await second.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var workflow = await Eventually.Get(() => Task.FromResult(spans.FirstOrDefault(s => s.OperationName == "workflow" && (string?)s.GetTagItem("name") == name)),
            "the workflow span after the restart");
        workflow.TraceId.ShouldBe(receive.TraceId);
        workflow.ParentSpanId.ShouldBe(trigger.SpanId);
        workflow.StartTimeUtc.ShouldBe(wf.Status.StartedAt!.Value.UtcDateTime); // from the stored start, not the restart
        var node = await Eventually.Get(() => Task.FromResult(spans.FirstOrDefault(s => s.OperationName == "node" && s.TraceId == receive.TraceId && (string?)s.GetTagItem("node_name") == "compile")),
            "the step's span after the restart");
        node.ParentSpanId.ShouldBe(workflow.SpanId);
    }

    [Fact]
    public async Task Without_a_listener_no_span_is_made_and_nothing_is_carried()
    {
        // Nothing listens to the service's sources in this process unless a test added a listener: run alone, the
        // event and workflow must then carry no trace context. With other tests' listeners present this checks nothing.
        if (OtlpTracing.Sources.Any(n => new ActivitySource(n).HasListeners())) return;
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        await host.ApplyAsync(Manifests(port));
        (await PushAsync(port, Guid.NewGuid().ToString())).ShouldBe(HttpStatusCode.OK);
        var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        (await host.WaitForEventsAsync("github", 1)).Single().Event.TraceParent.ShouldBeNull();
        (wf.Metadata.Annotations?.ContainsKey(Annotations.TraceParent) ?? false).ShouldBeFalse();
    }

    [Fact]
    public async Task Otlp_endpoint_exports_the_spans_of_a_push_from_a_real_serve_to_an_OTLP_HTTP_receiver()
    {
        var received = new ConcurrentQueue<(string ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var collector = builder.Build();
        collector.MapPost("/v1/traces", async (HttpContext ctx) =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            received.Enqueue((ctx.Request.ContentType ?? "", body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();

        var port = EventTestHost.FreePort();
        var manifests = Directory.CreateTempSubdirectory("egw-otlp-manifests-").FullName;
        await File.WriteAllTextAsync(Path.Combine(manifests, "ci.yaml"), Manifests(port));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", manifests, "--otlp-endpoint", collector.Urls.First()]);
        await Eventually.Get(async () => await PushAsync(port, Guid.NewGuid().ToString()) == HttpStatusCode.OK ? "" : null, "the push accepted", TestEngine.Patience);

        // Spans are batched and sent as they end: wait until the step's and the workflow's arrived too.
        static bool Has(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
        await Eventually.Get(() => Task.FromResult(received.Any(r => Has(r.Body, "workflow")) && received.Any(r => Has(r.Body, "node_phase")) ? "" : null),
            "the workflow and step spans at the receiver", TestEngine.Patience);
        received.Select(r => r.ContentType).Distinct().ShouldBe(["application/x-protobuf"]);
        received.Count(r => !Has(r.Body, OtlpTracing.ServiceName)).ShouldBe(0, "every export names the service");
        foreach (var name in new[] { "github receive", "sensor", "dependency", "trigger", "workflow", "node" })
            received.Any(r => Has(r.Body, name)).ShouldBeTrue(name);
    }
}
