using System.Net;
using System.Text;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Events.EventSources.Github;
using EventGateway.Events.Sensors.State;
using EventGateway.Model;

namespace EventGateway.Tests.Events.Sensors;

/// <summary>
/// The three journeys users come for, end to end on loopback with real peers: a signed GitHub push runs a CI
/// WorkflowTemplate, an object put into s3rver runs a processing workflow that reads it, Kafka messages fan
/// out into one batch workflow each.
/// </summary>
public sealed class SensorJourneyTests
{
    private static NodeStatus Step(Workflow wf) => wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);

    [Fact]
    public async Task A_signed_GitHub_push_runs_the_CI_template_once_even_when_GitHub_redelivers_it()
    {
        const string secret = "s3cr3t";
        var port = EventTestHost.FreePort();
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        await host.ApplyAsync($$$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: github-access, namespace: ci}
            stringData: {secret: "{{{secret}}}"}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: ci-pipeline, namespace: ci}
            spec:
              entrypoint: build
              arguments:
                parameters: [{name: repo}, {name: branch}]
              templates:
                - name: build
                  inputs: {parameters: [{name: repo}, {name: branch}]}
                  script:
                    image: alpine
                    command: [sh]
                    source: echo "clone {{inputs.parameters.repo}} at {{inputs.parameters.branch}}"
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: github, namespace: ci}
            spec:
              github:
                push:
                  repositories: [{owner: acme, names: [api]}]
                  webhook: {endpoint: /push, port: "{{{port}}}", method: POST}
                  events: [push]
                  webhookSecret: {name: github-access, key: secret}
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
                            workflowTemplateRef: {name: ci-pipeline}
                            arguments:
                              parameters: [{name: repo}, {name: branch}]
                      parameters:
                        - src: {dependencyName: push, dataKey: body.repository.clone_url}
                          dest: spec.arguments.parameters.0.value
                        - src: {dependencyName: push, dataTemplate: "{{ .Input.body.ref | replace \"refs/heads/\" \"\" }}"}
                          dest: spec.arguments.parameters.1.value
            """);

        var body = Encoding.UTF8.GetBytes("""{"ref":"refs/heads/main","repository":{"full_name":"acme/api","clone_url":"https://github.com/acme/api.git"}}""");
        using var http = new HttpClient();
        async Task<HttpStatusCode> Deliver()
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/push") { Content = new ByteArrayContent(body) };
            req.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            req.Headers.Add("X-GitHub-Event", "push");
            req.Headers.Add("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
            req.Headers.Add("X-Hub-Signature-256", GithubSignature.Sign(secret, body));
            using var resp = await http.SendAsync(req);
            return resp.StatusCode;
        }
        (await Deliver()).ShouldBe(HttpStatusCode.OK);
        var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        (await Deliver()).ShouldBe(HttpStatusCode.OK); // GitHub's "Redeliver" button: same delivery id

        var events = await host.WaitForEventsAsync("github", 2);
        await Eventually.Get(() => Task.FromResult(host.Sensors.State.DecisionsFor([events[1].Sequence]).FirstOrDefault(d => d.Outcome == Outcomes.Duplicate)), "redelivery recorded as duplicate");
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        wf.NamespaceOrDefault.ShouldBe("ci");
        host.StepLog(wf, Step(wf)).ShouldBe("clone https://github.com/acme/api.git at main\n");
        (await host.Store.ListAsync<Workflow>()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task An_object_put_into_the_bucket_runs_one_processing_workflow_that_reads_the_object()
    {
        await using var s3 = await S3Server.StartAsync("input");
        // The step reads the object from the test's S3 server on the host's loopback, which the default
        // isolated step network keeps steps away from: this journey opts into the host's network.
        await using var host = await EventTestHost.StartAsync(pipeline: true, configure: o => o.StepNetwork = EventGateway.Workflows.Execution.StepNetwork.Host);
        await host.ApplyAsync($$$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: s3-creds}
            stringData: {accesskey: {{{S3Server.AccessKey}}}, secretkey: {{{S3Server.SecretKey}}}}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata:
              name: uploads
              annotations: {eventgateway.io/s3-poll-interval: 1s}
            spec:
              minio:
                input:
                  endpoint: {{{s3.Endpoint}}}
                  insecure: true
                  bucket: {name: input}
                  events: ["s3:ObjectCreated:Put"]
                  accessKey: {name: s3-creds, key: accesskey}
                  secretKey: {name: s3-creds, key: secretkey}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: process-uploads}
            spec:
              dependencies:
                - {name: upload, eventSourceName: uploads, eventName: input}
              triggers:
                - template:
                    name: process
                    k8s:
                      operation: create
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: process-}
                          spec:
                            entrypoint: main
                            arguments: {parameters: [{name: bucket}, {name: key}]}
                            templates:
                              - name: main
                                inputs: {parameters: [{name: bucket}, {name: key}]}
                                container:
                                  image: curlimages/curl
                                  command: [sh, -c]
                                  args: ["echo processing {{inputs.parameters.key}} && curl -sf http://{{{s3.Endpoint}}}/{{inputs.parameters.bucket}}/{{inputs.parameters.key}}"]
                      parameters:
                        - src: {dependencyName: upload, dataKey: notification.0.s3.bucket.name}
                          dest: spec.arguments.parameters.0.value
                        - src: {dependencyName: upload, dataKey: notification.0.s3.object.key}
                          dest: spec.arguments.parameters.1.value
            """);

        await s3.PutAsync("input", "reports/q3.csv", "region,total\nnorth,42");

        var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        // S3 notifications carry the key URL-encoded, as AWS and MinIO send it; the object is read by that name.
        host.StepLog(wf, Step(wf)).ShouldBe("processing reports%2Fq3.csv\nregion,total\nnorth,42");
    }

    [Fact]
    public async Task Each_Kafka_message_fans_out_into_one_batch_workflow_with_parameters_from_its_JSON_body()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("jobs", partitions: 2);
        await using var host = await EventTestHost.StartAsync(pipeline: true);
        await host.ApplyAsync($$$"""
            apiVersion: argoproj.io/v1alpha1
            kind: EventSource
            metadata: {name: queue}
            spec:
              kafka:
                jobs:
                  url: {{{kafka.Bootstraps}}}
                  topic: jobs
                  jsonBody: true
                  consumerGroup: {groupName: egw-batch, oldest: true}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Sensor
            metadata: {name: batch}
            spec:
              dependencies:
                - {name: job, eventSourceName: queue, eventName: jobs}
              triggers:
                - template:
                    name: run-batch
                    argoWorkflow:
                      source:
                        resource:
                          apiVersion: argoproj.io/v1alpha1
                          kind: Workflow
                          metadata: {generateName: batch-}
                          spec:
                            entrypoint: main
                            arguments: {parameters: [{name: dataset}, {name: shards}]}
                            templates:
                              - name: main
                                inputs: {parameters: [{name: dataset}, {name: shards}]}
                                container: {image: alpine, command: [echo], args: ["{{inputs.parameters.dataset}} x{{inputs.parameters.shards}}"]}
                      parameters:
                        - src: {dependencyName: job, dataKey: body.dataset}
                          dest: spec.arguments.parameters.0.value
                        - src: {dependencyName: job, dataKey: body.shards}
                          dest: spec.arguments.parameters.1.value
            """);

        await kafka.ProduceAsync("jobs", Enumerable.Range(1, 5).Select(i => $"k{i}:{{\"dataset\":\"ds-{i}\",\"shards\":{i * 2}}}"));

        var workflows = await host.WaitWorkflowsCompletedAsync(5);
        workflows.Count.ShouldBe(5);
        workflows.ShouldAllBe(w => w.Status!.Phase == WorkflowPhase.Succeeded);
        workflows.Select(w => host.StepLog(w, Step(w))).Order().ShouldBe(Enumerable.Range(1, 5).Select(i => $"ds-{i} x{i * 2}\n").Order());
    }
}
