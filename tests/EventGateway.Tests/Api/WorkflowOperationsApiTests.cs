using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Manifests;
using EventGateway.Model;
using EventGateway.Tests.Cli;
using EventGateway.Tests.Support;
using EventGateway.Workflows;
using Shouldly;

namespace EventGateway.Tests.Api;

/// <summary>Argo's PUT .../suspend|resume|stop|terminate|retry|resubmit on a real `egw serve`, over HTTP and through `egw`.</summary>
public sealed class WorkflowOperationsApiTests : IAsyncLifetime
{
    private ServeProcess _serve = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _serve = await ServeProcess.StartAsync();
        _http = new HttpClient { BaseAddress = _serve.BaseAddress };
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
        var resp = await _http.PostAsync("api/v1/workflows/default", new StringContent(Gate.Replace("NAME", name)));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
        return await Until(name, w => w.Status?.Nodes?.Values.Any(n => n.DisplayName == "approve" && n.Phase == NodePhase.Running) == true, "the suspend step to wait");
    }

    private Task<Workflow> Until(string name, Func<Workflow, bool> condition, string what) =>
        Eventually.Get(async () => await _http.GetFromJsonAsync<Workflow>($"api/v1/workflows/default/{name}", Json.Lenient) is { } w && condition(w) ? w : null, what);

    private async Task<(HttpStatusCode Status, JsonObject Body)> Put(string path, string? body = null)
    {
        var resp = await _http.PutAsync($"api/v1/workflows/default/{path}", body is null ? null : new StringContent(body));
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
        copy.Metadata.Labels![WorkflowOperations.ResubmittedFromLabel].ShouldBe("rest");

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
}
