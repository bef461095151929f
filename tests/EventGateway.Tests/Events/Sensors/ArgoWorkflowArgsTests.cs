using System.Net;
using System.Text;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>An argoWorkflow trigger's <c>args</c> (extra argo CLI flags): the ones that change what runs work, the others are refused by name.</summary>
public sealed class ArgoWorkflowArgsTests
{
    private static string Sensor(string args, string operation = "submit", string port = "1") => $$$"""
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: hooks, namespace: ci}
        spec:
          webhook:
            go: {port: "{{{port}}}", endpoint: /go, method: POST}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Sensor
        metadata: {name: run, namespace: ci}
        spec:
          dependencies:
            - {name: go, eventSourceName: hooks, eventName: go}
          triggers:
            - template:
                name: run
                argoWorkflow:
                  operation: {{{operation}}}
                  args: {{{args}}}
                  source:
                    resource:
                      apiVersion: argoproj.io/v1alpha1
                      kind: Workflow
                      metadata: {generateName: run-}
                      spec:
                        entrypoint: main
                        arguments: {parameters: [{name: who, value: nobody}]}
                        templates:
                          - {name: main, inputs: {parameters: [{name: who}]}, container: {image: alpine, command: [echo, "main {{inputs.parameters.who}}"]}}
                          - {name: other, container: {image: alpine, command: [echo, other]}}
        """;

    [Theory]
    [InlineData("[--serviceaccount, ci]", "submit", "spec.triggers[0].template.argoWorkflow.args[0]: '--serviceaccount' is not supported here (understood for submit:")]
    [InlineData("[--restart-successful]", "submit", "spec.triggers[0].template.argoWorkflow.args[0]: '--restart-successful' is not supported here")]
    [InlineData("[-p, novalue]", "submit", "spec.triggers[0].template.argoWorkflow.args[1]: 'novalue' is not NAME=VALUE")]
    [InlineData("[--memoized]", "terminate", "'--memoized' is not supported here (argo terminate takes no arguments here)")]
    public void Flags_that_cannot_be_honoured_are_refused_at_load(string args, string operation, string expected) =>
        Should.Throw<ManifestException>(() => ManifestReader.Read(Sensor(args, operation))).Message.ShouldContain(expected);

    [Fact]
    public async Task Parameters_entrypoint_and_labels_from_args_shape_the_submitted_workflow()
    {
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        await host.ApplyAsync(Sensor("[-p, who=sensor, --labels, \"team=ci,tier=1\", --node-field-selector, phase=abc]", port: port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using (var http = new HttpClient())
        using (var resp = await http.PostAsync($"http://127.0.0.1:{port}/go", new StringContent("{}", Encoding.UTF8, "application/json")))
            resp.StatusCode.ShouldBe(HttpStatusCode.OK);

        var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        wf.Metadata.Labels!["team"].ShouldBe("ci");
        wf.Metadata.Labels["tier"].ShouldBe("1");
        host.StepLog(wf, wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod)).Trim().ShouldBe("main sensor");
    }
}
