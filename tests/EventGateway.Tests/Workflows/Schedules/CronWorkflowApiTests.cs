using System.Net;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Schedules;

/// <summary>Argo's POST /api/v1/workflows/{ns}/submit and PUT /api/v1/cron-workflows/{ns}/{name}/suspend|resume on a real `egw serve`.</summary>
public sealed class CronWorkflowApiTests : IAsyncLifetime
{
    private ServeProcess _serve = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _serve = await ServeProcess.StartAsync();
        _http = _serve.CreateClient();
        var resp = await _http.PostAsync("api/v1/cron-workflows/default", new StringContent("""
            {"cronWorkflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "hourly"},
              "spec": {"schedules": ["0 * * * *"], "workflowSpec": {"entrypoint": "main",
                "arguments": {"parameters": [{"name": "who", "value": "nobody"}]},
                "templates": [{"name": "main", "container": {"image": "busybox", "command": ["echo", "{{workflow.parameters.who}}"]}}]}}}}
            """, System.Text.Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _serve.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> Send(HttpMethod method, string path, string? body = null)
    {
        using var req = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        var resp = await _http.SendAsync(req);
        return (resp.StatusCode, JsonNode.Parse(await resp.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task Submit_from_a_cron_workflow_applies_the_submit_options()
    {
        var (status, wf) = await Send(HttpMethod.Post, "api/v1/workflows/default/submit",
            """{"resourceKind": "cronwf", "resourceName": "hourly", "submitOptions": {"parameters": ["who=api"], "labels": "team=data, tier=gold"}}""");
        status.ShouldBe(HttpStatusCode.OK, wf.ToJsonString());
        wf["metadata"]!["name"]!.GetValue<string>().ShouldStartWith("hourly-");
        var labels = wf["metadata"]!["labels"]!;
        labels["workflows.argoproj.io/cron-workflow"]!.GetValue<string>().ShouldBe("hourly");
        labels["team"]!.GetValue<string>().ShouldBe("data");
        labels["tier"]!.GetValue<string>().ShouldBe("gold");
        wf["spec"]!["arguments"]!["parameters"]![0]!["value"]!.GetValue<string>().ShouldBe("api");
    }

    [Theory]
    [InlineData("""{"resourceName": "hourly"}""", HttpStatusCode.BadRequest, "resourceKind: missing")]
    [InlineData("""{"resourceKind": "pod", "resourceName": "hourly"}""", HttpStatusCode.BadRequest, "kind 'pod' is not one of cronwf, workflowtemplate, clusterworkflowtemplate")]
    [InlineData("""{"resourceKind": "cronwf", "resourceName": "hourly", "submitOptions": {"dryRun": true}}""", HttpStatusCode.BadRequest, "submitOptions.dryRun: not supported here")]
    [InlineData("""{"resourceKind": "cronwf", "resourceName": "hourly", "submitOptions": {"parameters": ["colour=red"]}}""", HttpStatusCode.BadRequest, "the workflow declares no argument 'colour'")]
    [InlineData("""{"resourceKind": "workflowtemplate", "resourceName": "hourly"}""", HttpStatusCode.NotFound, "WorkflowTemplate 'hourly' not found in namespace 'default'")]
    public async Task Bad_submit_requests_are_refused_with_the_reason_and_create_nothing(string body, HttpStatusCode expected, string reason)
    {
        var (status, answer) = await Send(HttpMethod.Post, "api/v1/workflows/default/submit", body);
        status.ShouldBe(expected);
        answer["message"]!.GetValue<string>().ShouldContain(reason);
        (await Send(HttpMethod.Get, "api/v1/workflows/default")).Body["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task Suspend_and_resume_set_spec_suspend()
    {
        var (status, cron) = await Send(HttpMethod.Put, "api/v1/cron-workflows/default/hourly/suspend");
        status.ShouldBe(HttpStatusCode.OK);
        cron["spec"]!["suspend"]!.GetValue<bool>().ShouldBeTrue();
        (_, cron) = await Send(HttpMethod.Put, "api/v1/cron-workflows/default/hourly/resume");
        cron["spec"]!["suspend"]!.GetValue<bool>().ShouldBeFalse();
        (await Send(HttpMethod.Put, "api/v1/cron-workflows/default/nope/suspend")).Status.ShouldBe(HttpStatusCode.NotFound);
    }
}
