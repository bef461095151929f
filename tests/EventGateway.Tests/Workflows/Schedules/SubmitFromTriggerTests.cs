using System.Text;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Workflows.Submission;

namespace EventGateway.Tests.Workflows.Schedules;

/// <summary>The sensor's argoWorkflow <c>submit-from</c> goes through the same submit-from path as the API and the CLI.</summary>
public sealed class SubmitFromTriggerTests
{
    [Fact]
    public async Task A_webhook_event_runs_the_named_cron_workflow_once_with_its_labels()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        await host.ApplyAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata: {name: nightly}
            spec:
              schedules: ["0 2 * * *"]
              suspend: true
              workflowSpec:
                entrypoint: main
                templates:
                  - name: main
                    container: {image: busybox, command: [echo, from-cron]}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: hooks}
            spec:
              webhook:
                run: {port: "{{{port}}}", endpoint: /run, method: POST}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: runner}
            spec:
              dependencies:
                - {name: go, eventSourceName: hooks, eventName: run}
              triggers:
                - template:
                    name: run-nightly
                    argoWorkflow:
                      operation: submit-from
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: CronWorkflow
                          metadata: {name: nightly}
            """);

        using var http = new HttpClient();
        (await http.PostAsync($"http://127.0.0.1:{port}/run", new StringContent("{}", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

        var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        wf.Metadata.Labels![WorkflowSources.CronWorkflowLabel].ShouldBe("nightly");
        wf.Metadata.Labels["events.argoproj.io/sensor"].ShouldBe("runner");
        host.StepLog(wf, wf.Status.Nodes!.Values.Single()).ShouldBe("from-cron\n");
    }
}
