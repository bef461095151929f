using System.Net;
using System.Text;
using EventGateway.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Shouldly;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>
/// The whole path on loopback: a webhook EventSource on Kestrel, the durable log, a Sensor, and workflows run
/// by the embedded controller in the sandbox.
/// </summary>
public sealed class SensorPipelineTests : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private readonly int _port = EventTestHost.FreePort();
    private EventTestHost _host = null!;

    public async Task InitializeAsync() => _host = await EventTestHost.StartAsync(pipeline: true);

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private string Source(string name = "hooks") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: {{name}}}
        spec:
          webhook:
            push: {port: "{{_port}}", endpoint: /push, method: POST}
            other: {port: "{{_port}}", endpoint: /other, method: POST}
        """;

    private static string Sensor(string dependencies, string triggerExtra = "", string annotations = "", string conditions = "") => $$$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata:
          name: builds
          annotations: {{{{annotations}}}}
        spec:
          dependencies:
        {{{dependencies}}}
          triggers:
            - template:
                name: build
        {{{conditions}}}
                argoWorkflow:
                  operation: submit
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: build-}
                      spec:
                        entrypoint: main
                        arguments: {parameters: [{name: branch, value: none}]}
                        templates:
                          - name: main
                            inputs: {parameters: [{name: branch}]}
                            container: {image: alpine, command: [sh, -c], args: ["echo building {{inputs.parameters.branch}}"]}
                  parameters:
                    - src: {dependencyName: push, dataKey: body.branch}
                      dest: spec.arguments.parameters.0.value
        {{{triggerExtra}}}
        """;

    private const string PushDependency = """
            - name: push
              eventSourceName: hooks
              eventName: push
              filters:
                data:
                  - path: body.branch
                    type: string
                    value: ["main", "release-.*"]
        """;

    private async Task<HttpStatusCode> Post(string path, string json)
    {
        using var resp = await _http.PostAsync($"http://127.0.0.1:{_port}{path}", new StringContent(json, Encoding.UTF8, "application/json"));
        return resp.StatusCode;
    }

    [Fact]
    public async Task A_posted_event_creates_one_workflow_with_its_parameter_and_it_runs_to_success()
    {
        await _host.ApplyAsync(Source() + "\n---\n" + Sensor(PushDependency));

        (await Post("/push", """{"branch":"main"}""")).ShouldBe(HttpStatusCode.OK);

        var wf = (await _host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        wf.Name.ShouldStartWith("build-");
        wf.Metadata.Labels!["events.argoproj.io/sensor"].ShouldBe("builds");
        var step = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        _host.StepLog(wf, step).ShouldBe("building main\n");

        var logged = (await _host.WaitForEventsAsync("hooks", 1)).Single();
        var path = await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([logged.Sequence]) is { Count: >= 2 } d ? d : null), "decisions recorded");
        path.Select(d => (d.Trigger, d.Outcome)).ShouldBe([("", Outcomes.Passed), ("build", Outcomes.Triggered)]);
        path[1].Reason.ShouldBe($"workflow {wf.Name} created");
    }

    [Fact]
    public async Task A_filtered_event_creates_nothing_and_its_path_says_which_filter_stopped_it()
    {
        await _host.ApplyAsync(Source() + "\n---\n" + Sensor(PushDependency));

        (await Post("/push", """{"branch":"feature/x"}""")).ShouldBe(HttpStatusCode.OK);
        (await Post("/push", """{"branch":"release-1.2"}""")).ShouldBe(HttpStatusCode.OK);

        var events = await _host.WaitForEventsAsync("hooks", 2);
        var decisions = await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor(events.Select(e => e.Sequence).ToList()) is { Count: 3 } d ? d : null), "decisions for both events");
        var filtered = decisions.Single(d => d.Sequence == events[0].Sequence);
        filtered.Outcome.ShouldBe(Outcomes.Filtered);
        filtered.Reason!.ShouldContain("push:");
        filtered.Reason!.ShouldContain("feature/x");
        var wf = (await _host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        _host.StepLog(wf, wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod)).ShouldBe("building release-1.2\n");
    }

    [Fact]
    public async Task A_jq_transform_runs_before_a_Lua_script_filter_and_the_parameters_see_the_transformed_event()
    {
        const string deps = """
                - name: push
                  eventSourceName: hooks
                  eventName: push
                  transform:
                    jq: ".body.branch |= ascii_upcase"
                  filters:
                    script: |
                      return event.body.branch == "MAIN"
            """;
        await _host.ApplyAsync(Source() + "\n---\n" + Sensor(deps));

        (await Post("/push", """{"branch":"dev"}""")).ShouldBe(HttpStatusCode.OK);
        (await Post("/push", """{"branch":"main"}""")).ShouldBe(HttpStatusCode.OK);

        var wf = (await _host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        _host.StepLog(wf, wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod)).ShouldBe("building MAIN\n");
        var events = await _host.WaitForEventsAsync("hooks", 2);
        var dev = _host.Sensors.State.DecisionsFor([events[0].Sequence]).ShouldHaveSingleItem();
        dev.Outcome.ShouldBe(Outcomes.Filtered);
        dev.Reason!.ShouldContain("script");
    }

    [Fact]
    public async Task A_trigger_failing_after_its_retries_goes_to_its_dlqTrigger_or_else_to_the_dead_letter_list()
    {
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var receiverPort = EventTestHost.FreePort();
        var closedPort = EventTestHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{receiverPort}");
        await using var receiver = builder.Build();
        receiver.MapPost("/dlq", async (HttpRequest req) =>
        {
            using var reader = new StreamReader(req.Body);
            received.Enqueue(await reader.ReadToEndAsync());
            return Results.Ok();
        });
        await receiver.StartAsync();
        await _host.ApplyAsync(Source() + $$$"""

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: notify}
            spec:
              dependencies:
                - {name: push, eventSourceName: hooks, eventName: push}
              triggers:
                - template:
                    name: primary
                    http: {url: "http://127.0.0.1:{{{closedPort}}}/down", method: POST}
                  retryStrategy: {steps: 3, duration: 10ms, factor: 2}
                  dlqTrigger:
                    template:
                      name: to-dlq
                      http:
                        url: "http://127.0.0.1:{{{receiverPort}}}/dlq"
                        method: POST
                        payload:
                          - {src: {dependencyName: push, dataKey: body.branch}, dest: branch}
                - template:
                    name: orphan
                    http: {url: "http://127.0.0.1:{{{closedPort}}}/down", method: POST}
            """);

        (await Post("/push", """{"branch":"main"}""")).ShouldBe(HttpStatusCode.OK);

        var logged = (await _host.WaitForEventsAsync("hooks", 1)).Single();
        var path = await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([logged.Sequence]) is { Count: 5 } d ? d : null), "the event's whole path");
        path.Where(d => d.Trigger == "primary").Select(d => d.Outcome).ShouldBe([Outcomes.Failed, Outcomes.DeadLettered]);
        path.Single(d => d.Trigger == "primary" && d.Outcome == Outcomes.Failed).Reason!.ShouldContain("(after 3 attempts)");
        path.Single(d => d.Trigger == "primary" && d.Outcome == Outcomes.DeadLettered).Reason!.ShouldStartWith("dlqTrigger to-dlq: POST");
        received.ShouldHaveSingleItem().ShouldBe("""{"branch":"main"}""");
        var letter = _host.Sensors.State.DeadLetters("default/notify").ShouldHaveSingleItem();
        letter.Trigger.ShouldBe("orphan");
        letter.Sequences.ShouldBe([logged.Sequence]);
        letter.Events["push"].Id.ShouldBe(logged.Event.Id);
    }

    [Fact]
    public async Task A_k8s_policy_waits_for_the_workflow_labels_and_fails_the_trigger_when_they_never_come()
    {
        static string Trigger(string name, string command) => $$$"""
                - template:
                    name: {{{name}}}
                    argoWorkflow:
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: {{{name}}}-}
                          spec:
                            entrypoint: main
                            templates:
                              - {name: main, container: {image: alpine, command: [sh, -c, "{{{command}}}"]}}
                  policy:
                    k8s:
                      backoff: {duration: 50ms, steps: 80}
                      labels: {workflows.argoproj.io/phase: Succeeded}
                      errorOnBackoffTimeout: true
            """;
        await _host.ApplyAsync(Source() + $$$"""

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: gated}
            spec:
              dependencies:
                - {name: push, eventSourceName: hooks, eventName: push}
              triggers:
            {{{Trigger("good", "true")}}}
            {{{Trigger("bad", "exit 3")}}}
            """);

        (await Post("/push", """{"branch":"main"}""")).ShouldBe(HttpStatusCode.OK);

        var logged = (await _host.WaitForEventsAsync("hooks", 1)).Single();
        var path = await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([logged.Sequence]) is { Count: 4 } d ? d : null), "the event's whole path");
        path.Single(d => d.Trigger == "good").Outcome.ShouldBe(Outcomes.Triggered);
        var bad = path.Single(d => d.Trigger == "bad" && d.Outcome == Outcomes.Failed);
        bad.Reason!.ShouldContain("did not reach labels {workflows.argoproj.io/phase: Succeeded} within 80 checks (has {workflows.argoproj.io/phase: Failed})");
    }

    [Fact]
    public async Task The_same_dedup_key_twice_creates_one_workflow_and_records_the_duplicate()
    {
        await _host.ApplyAsync(Source() + "\n---\n" + Sensor(PushDependency, annotations: "eventgateway.io/dedup-key: body.delivery"));

        (await Post("/push", """{"branch":"main","delivery":"d-1"}""")).ShouldBe(HttpStatusCode.OK);
        (await Post("/push", """{"branch":"main","delivery":"d-1"}""")).ShouldBe(HttpStatusCode.OK);
        (await Post("/push", """{"branch":"main","delivery":"d-2"}""")).ShouldBe(HttpStatusCode.OK);

        var events = await _host.WaitForEventsAsync("hooks", 3);
        var decisions = await Eventually.Get(() => Task.FromResult(
            _host.Sensors.State.DecisionsFor(events.Select(e => e.Sequence).ToList()).Where(d => d.Trigger == "build").ToList() is { Count: 3 } d ? d : null), "trigger decisions");
        decisions.Select(d => d.Outcome).ShouldBe([Outcomes.Triggered, Outcomes.Duplicate, Outcomes.Triggered]);
        decisions[1].Reason!.ShouldContain($"#{events[0].Sequence}");
        (await _host.WaitWorkflowsCompletedAsync(2)).Count.ShouldBe(2);
        _host.Sensors.State.Counters("default/builds")["build"][Outcomes.Duplicate].ShouldBe(1);
    }

    [Fact]
    public async Task Conditions_wait_for_both_dependencies_and_the_partial_state_survives_a_restart()
    {
        const string deps = """
                - {name: push, eventSourceName: hooks, eventName: push}
                - {name: other, eventSourceName: hooks, eventName: other}
            """;
        var yaml = Source() + "\n---\n" + Sensor(deps, conditions: "        conditions: \"push && other\"");
        await _host.ApplyAsync(yaml);

        (await Post("/push", """{"branch":"main"}""")).ShouldBe(HttpStatusCode.OK);
        var first = (await _host.WaitForEventsAsync("hooks", 1)).Single();
        await Eventually.Get(() => Task.FromResult(_host.Sensors.State.DecisionsFor([first.Sequence]).FirstOrDefault(d => d.Outcome == Outcomes.Waiting)), "waiting recorded");

        var dataDir = _host.KeepDataDir();
        await _host.DisposeAsync();
        _host = await EventTestHost.StartAsync(dataDir: dataDir, pipeline: true, deleteDataDir: true);
        await _host.WaitListeningAsync("default", "hooks");
        await _host.WaitSensorRunningAsync("default", "builds");
        (await _host.Store.ListAsync<Workflow>()).ShouldBeEmpty();

        (await Post("/other", """{"x":1}""")).ShouldBe(HttpStatusCode.OK);
        var wf = (await _host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        _host.StepLog(wf, wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod)).ShouldBe("building main\n");
    }
}
