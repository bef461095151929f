using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controls;

namespace EventGateway.Tests.Server.Api;

/// <summary>Argo's PUT .../suspend|resume|stop|terminate|retry|resubmit on a real `egw serve`, over HTTP and through `egw`.</summary>
public sealed class WorkflowControlsApiTests : IAsyncLifetime
{
    private ServeProcess _serve = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _serve = await ServeProcess.StartAsync();
        _http = _serve.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _serve.DisposeAsync();
    }

    private const string Gate = """
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME"},
          "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "steps": [[{"name": "approve", "template": "wait"}], [{"name": "after", "template": "hello"}]]},
            {"name": "wait", "suspend": {}},
            {"name": "hello", "container": {"image": "busybox", "command": ["echo", "hello"]}}]}}}
        """;

    private async Task<Workflow> Submit(string name)
    {
        var resp = await _http.PostAsync("api/v1/workflows/default", new StringContent(Gate.Replace("NAME", name), System.Text.Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
        return await Until(name, w => w.Status?.Nodes?.Values.Any(n => n.DisplayName == "approve" && n.Phase == NodePhase.Running) == true, "the suspend step to wait");
    }

    private Task<Workflow> Until(string name, Func<Workflow, bool> condition, string what) =>
        Eventually.Get(async () => await _http.GetFromJsonAsync<Workflow>($"api/v1/workflows/default/{name}", Json.Lenient) is { } w && condition(w) ? w : null, what);

    private async Task<(HttpStatusCode Status, JsonObject Body)> Put(string path, string? body = null)
    {
        var resp = await _http.PutAsync($"api/v1/workflows/default/{path}", body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        return (resp.StatusCode, JsonNode.Parse(await resp.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task Put_operations_answer_the_workflow_as_it_now_is()
    {
        await Submit("rest");

        var (status, suspended) = await Put("rest/suspend", """{"name": "rest", "namespace": "default"}""");
        status.ShouldBe(HttpStatusCode.OK);
        suspended["spec"]!["suspend"]!.GetValue<bool>().ShouldBeTrue();

        (status, var resumed) = await Put("rest/resume", """{"nodeFieldSelector": "displayName=approve"}""");
        status.ShouldBe(HttpStatusCode.OK);
        var approve = resumed["status"]!["nodes"]!.AsObject().Select(n => n.Value!).Single(n => n["displayName"]!.GetValue<string>() == "approve");
        approve["phase"]!.GetValue<string>().ShouldBe(NodePhase.Succeeded);
        resumed["spec"]!["suspend"]!.GetValue<bool>().ShouldBeTrue("a node selector resumes the node only, as in Argo");

        (status, _) = await Put("rest/resume");
        status.ShouldBe(HttpStatusCode.OK);
        (await Until("rest", w => w.Status?.IsCompleted == true, "completion")).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        (status, var resubmitted) = await Put("rest/resubmit", """{"memoized": false}""");
        status.ShouldBe(HttpStatusCode.OK);
        var copy = resubmitted.Deserialize<Workflow>(Json.Lenient)!;
        copy.Name.ShouldStartWith("rest-");
        copy.Metadata.Labels![WorkflowControls.ResubmittedFromLabel].ShouldBe("rest");

        await Until(copy.Name, w => w.Status?.Nodes?.Values.Any(n => n.DisplayName == "approve" && n.Phase == NodePhase.Running) == true, "the copy to wait");
        (status, var terminated) = await Put($"{copy.Name}/terminate");
        status.ShouldBe(HttpStatusCode.OK);
        terminated["spec"]!["shutdown"]!.GetValue<string>().ShouldBe("Terminate");
        var done = await Until(copy.Name, w => w.Status?.IsCompleted == true, "termination");
        (done.Status!.Phase, done.Status.Message).ShouldBe((WorkflowPhase.Failed, "Stopped with strategy 'Terminate'"));

        (status, var retried) = await Put($"{copy.Name}/retry", """{"restartSuccessful": false}""");
        status.ShouldBe(HttpStatusCode.OK);
        retried["status"]!["phase"]!.GetValue<string>().ShouldBe(WorkflowPhase.Running);
        await Until(copy.Name, w => w.Status?.Nodes?.Values.Any(n => n.DisplayName == "approve" && n.Phase == NodePhase.Running) == true, "the retried suspend step to wait again");
    }

    [Fact]
    public async Task Put_refusals_are_404_and_400_in_the_Argo_error_shape()
    {
        var (status, error) = await Put("absent/suspend");
        status.ShouldBe(HttpStatusCode.NotFound);
        error["code"]!.GetValue<int>().ShouldBe(5);
        error["message"]!.GetValue<string>().ShouldBe("workflows.argoproj.io \"absent\" not found");

        await Submit("refuse");
        (status, error) = await Put("refuse/retry");
        status.ShouldBe(HttpStatusCode.BadRequest);
        (error["code"]!.GetValue<int>(), error["message"]!.GetValue<string>()).ShouldBe((3, "workflow must be Failed/Error to retry"));

        (status, error) = await Put("refuse/retry", """{"restartSuccessful": "yes"}""");
        status.ShouldBe(HttpStatusCode.BadRequest);
        error["message"]!.GetValue<string>().ShouldBe("restartSuccessful: must be true or false");

        (status, error) = await Put("refuse/resubmit", """{"parameters": ["a=b"]}""");
        status.ShouldBe(HttpStatusCode.BadRequest);
        error["message"]!.GetValue<string>().ShouldContain("parameters");

        (status, error) = await Put("refuse/stop", "{nope");
        status.ShouldBe(HttpStatusCode.BadRequest);
        error["message"]!.GetValue<string>().ShouldContain("not JSON");
        (await _http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/refuse", Json.Lenient))!.Spec.Shutdown.ShouldBeNull("a refused request changes nothing");
    }

    [Fact]
    public async Task Egw_commands_act_on_named_workflows_and_report_refusals()
    {
        await Submit("cli");
        var server = _serve.BaseAddress.ToString();

        var (code, stdout, stderr) = await CliTests.Egw("suspend", "cli", "--server", server);
        code.ShouldBe(0, stderr);
        stdout.Trim().ShouldBe("workflow cli suspended");

        (code, stdout, stderr) = await CliTests.Egw("resume", "cli", "--server", server, "-o", "json");
        code.ShouldBe(0, stderr);
        JsonSerializer.Deserialize<Workflow>(stdout, Json.Lenient)!.Spec.Suspend.ShouldBeNull();
        (await Until("cli", w => w.Status?.IsCompleted == true, "completion")).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        (code, _, stderr) = await CliTests.Egw("stop", "cli", "--server", server, "--message", "late");
        code.ShouldBe(2);
        stderr.ShouldContain("cannot shutdown a completed workflow: workflow: \"cli\", namespace: \"default\"");

        (code, _, stderr) = await CliTests.Egw("terminate", "ghost", "--server", server);
        code.ShouldBe(1);
        stderr.ShouldContain("workflows.argoproj.io \"ghost\" not found");

        (code, stdout, stderr) = await CliTests.Egw("resubmit", "cli", "--server", server);
        code.ShouldBe(0, stderr);
        stdout.ShouldStartWith("workflow cli resubmitted as cli-");
        var copy = stdout.Trim()["workflow cli resubmitted as ".Length..];

        await Until(copy, w => w.Status?.Nodes?.Values.Any(n => n.DisplayName == "approve" && n.Phase == NodePhase.Running) == true, "the copy to wait");
        (code, stdout, stderr) = await CliTests.Egw("stop", copy, "--server", server, "--node-field-selector", "displayName=approve", "--message", "no");
        code.ShouldBe(0, stderr);
        var stopped = await Until(copy, w => w.Status?.IsCompleted == true, "the copy to fail");
        stopped.Status!.Nodes!.Values.Single(n => n.DisplayName == "approve").Message.ShouldBe("no");

        (code, _, stderr) = await CliTests.Egw("retry", copy, "--server", server, "--restart-successful", "--node-field-selector", "nonsense");
        code.ShouldBe(2);
        stderr.ShouldContain("'nonsense' must look like field=value or field!=value");
        (code, stdout, stderr) = await CliTests.Egw("retry", copy, "--server", server);
        code.ShouldBe(0, stderr);
        stdout.Trim().ShouldBe($"workflow {copy} retried");
    }

    private async Task<Workflow> SubmitJson(string json, string name, Func<Workflow, bool> until, string what)
    {
        var resp = await _http.PostAsync("api/v1/workflows/default", new StringContent(json.Replace("NAME", name), System.Text.Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
        return await Until(name, until, what);
    }

    private static NodeStatus Node(Workflow wf, string displayName) => wf.Status!.Nodes!.Values.Single(n => n.DisplayName == displayName);

    private const string TwoGates = """
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME"},
          "spec": {"entrypoint": "main", "onExit": "bye", "templates": [
            {"name": "main", "steps": [[{"name": "gate-a", "template": "wait"}, {"name": "gate-b", "template": "wait"}]]},
            {"name": "wait", "suspend": {}},
            {"name": "bye", "container": {"image": "busybox", "command": ["echo", "bye"]}}]}}}
        """;

    // build succeeds, check fails: a retry that restarts build as well runs it again.
    private const string BuildThenCheck = """
        {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME"},
          "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "steps": [[{"name": "build", "template": "ok"}], [{"name": "check", "template": "bad"}]]},
            {"name": "ok", "container": {"image": "busybox", "command": ["echo", "built"]}},
            {"name": "bad", "container": {"image": "busybox", "command": ["sh", "-c", "exit 1"]}}]}}}
        """;

    private static bool BothGatesWait(Workflow w) =>
        w.Status?.Nodes?.Values.Count(n => n.DisplayName is "gate-a" or "gate-b" && n.Phase == NodePhase.Running) == 2;

    [Fact]
    public async Task Put_stop_of_one_node_then_of_the_workflow_runs_the_exit_handler()
    {
        await SubmitJson(TwoGates, "gates", BothGatesWait, "both gates to wait");

        var (status, body) = await Put("gates/stop", """{"nodeFieldSelector": "displayName=gate-a", "message": "rejected"}""");
        status.ShouldBe(HttpStatusCode.OK);
        var one = body.Deserialize<Workflow>(Json.Lenient)!;
        (Node(one, "gate-a").Phase, Node(one, "gate-a").Message).ShouldBe((NodePhase.Failed, "rejected"));
        Node(one, "gate-b").Phase.ShouldBe(NodePhase.Running);
        one.Spec.Shutdown.ShouldBeNull("a node selector stops that node only");

        (status, body) = await Put("gates/stop", """{"message": "enough"}""");
        status.ShouldBe(HttpStatusCode.OK);
        body["spec"]!["shutdown"]!.GetValue<string>().ShouldBe("Stop");
        var done = await Until("gates", w => w.Status?.IsCompleted == true, "the stop");
        (done.Status!.Phase, done.Status.Message).ShouldBe((WorkflowPhase.Failed, "Stopped with strategy 'Stop'"));
        done.Metadata.Annotations![WorkflowControls.ShutdownMessageAnnotation].ShouldBe("enough");
        Node(done, "gate-b").Message.ShouldBe("Stopped with strategy 'Stop'");
        Node(done, "gates.onExit").Phase.ShouldBe(NodePhase.Succeeded, "Stop runs the exit handler");
    }

    [Fact]
    public async Task Put_retry_with_restartSuccessful_runs_the_selected_succeeded_node_again()
    {
        var failed = await SubmitJson(BuildThenCheck, "rebuild", w => w.Status?.IsCompleted == true, "the first run to fail");
        failed.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var firstEnd = failed.Status.FinishedAt!.Value;

        var (status, body) = await Put("rebuild/retry", """{"restartSuccessful": true, "nodeFieldSelector": "displayName=build"}""");
        status.ShouldBe(HttpStatusCode.OK);
        body["status"]!["phase"]!.GetValue<string>().ShouldBe(WorkflowPhase.Running);
        var again = await Until("rebuild", w => w.Status?.IsCompleted == true, "the retried run");
        again.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        Node(again, "build").StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(firstEnd, "build ran again");
        Node(again, "check").StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(Node(again, "build").FinishedAt!.Value);
    }

    [Fact]
    public async Task Egw_get_shows_the_suspension_and_node_selectors_work_from_the_command_line()
    {
        await Submit("cligate");
        var server = _serve.BaseAddress.ToString();

        var (code, stdout, stderr) = await CliTests.Egw("get", "cligate", "--server", server);
        code.ShouldBe(0, stderr);
        stdout.ShouldContain("Running (Suspended)");
        stdout.ShouldContain("ǁ approve", customMessage: "the node the workflow waits in is marked as Argo marks it");

        (code, _, stderr) = await CliTests.Egw("suspend", "cligate", "--server", server, "--node-field-selector", "displayName=approve");
        code.ShouldBe(2, "Argo suspends whole workflows only");
        stderr.ShouldContain(WorkflowControls.NoNodeSuspend);
        var (status, error) = await Put("cligate/suspend", """{"nodeFieldSelector": "displayName=approve"}""");
        (status, error["message"]!.GetValue<string>()).ShouldBe((HttpStatusCode.BadRequest, WorkflowControls.NoNodeSuspend));
        (code, _, stderr) = await CliTests.Egw("terminate", "cligate", "--bogus", "--server", server);
        code.ShouldBe(2);
        stderr.ShouldContain("unknown option '--bogus' for egw terminate");
        (await Until("cligate", w => true, "the workflow")).Spec.Suspend.ShouldBeNull("a refused request changes nothing");

        (code, stdout, stderr) = await CliTests.Egw("resume", "cligate", "--server", server, "--node-field-selector", "displayName=approve");
        code.ShouldBe(0, stderr);
        stdout.Trim().ShouldBe("workflow cligate resumed");
        (await Until("cligate", w => w.Status?.IsCompleted == true, "completion")).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);

        var failed = await SubmitJson(BuildThenCheck, "clirebuild", w => w.Status?.IsCompleted == true, "the first run to fail");
        (code, stdout, stderr) = await CliTests.Egw("retry", "clirebuild", "--server", server, "--restart-successful", "--node-field-selector", "displayName=build");
        code.ShouldBe(0, stderr);
        stdout.Trim().ShouldBe("workflow clirebuild retried");
        var again = await Until("clirebuild", w => w.Status?.IsCompleted == true && w.Status.FinishedAt > failed.Status!.FinishedAt, "the retried run");
        Node(again, "build").StartedAt!.Value.ShouldBeGreaterThanOrEqualTo(failed.Status!.FinishedAt!.Value, "build ran again");

        await Submit("cliterm");
        (code, stdout, stderr) = await CliTests.Egw("terminate", "cliterm", "--server", server);
        code.ShouldBe(0, stderr);
        stdout.Trim().ShouldBe("workflow cliterm terminated");
        await Until("cliterm", w => w.Status?.IsCompleted == true, "termination");
        (code, stdout, stderr) = await CliTests.Egw("get", "cliterm", "--server", server);
        code.ShouldBe(0, stderr);
        stdout.ShouldContain("Failed (Terminated)");
        stdout.ShouldContain("Stopped with strategy 'Terminate'");
    }
}
