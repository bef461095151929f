using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Server.Kubernetes;
using EventGateway.Server.Kubernetes.Pods;
using EventGateway.Tests.Support;
using EventGateway.Tests.Support.Kubernetes;
using static EventGateway.Tests.Support.Kubernetes.TestApiServer;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// <c>--executor kubernetes</c> through the real KubernetesClient against the test API server, with s3rver as the
/// artifact repository: the test plays the kubelet (pod phases, container states, logs) and the upload container
/// (a PUT of the outputs' tar to the presigned URL the pod was given).
/// </summary>
public sealed class PodExecutorTests : IAsyncLifetime
{
    private const string Bucket = "artifacts";
    private readonly HttpClient _http = new();
    private TestApiServer _api = null!;
    private S3Server _s3 = null!;
    private string _kubeconfig = null!;
    private readonly List<TestEngine> _engines = [];

    public async Task InitializeAsync()
    {
        _api = await TestApiServer.StartAsync();
        _s3 = await S3Server.StartAsync(Bucket);
        _kubeconfig = _api.WriteKubeconfig(Path.Combine(Directory.CreateTempSubdirectory("egw-kube-").FullName, "config"));
    }

    public async Task DisposeAsync()
    {
        foreach (var e in _engines) await e.DisposeAsync();
        await _api.DisposeAsync();
        await _s3.DisposeAsync();
        _http.Dispose();
    }

    private TimeSpan? _resync;

    private void Configure(EventGatewayOptions o)
    {
        o.Pods = new PodExecutorOptions { Cluster = new KubernetesOptions { Kubeconfig = _kubeconfig } };
        if (_resync is { } r) o.Pods.Resync = r;
        o.ArtifactRepository = new ArtifactRepository
        {
            S3 = new S3ArtifactRepository
            {
                Endpoint = _s3.Endpoint, Bucket = Bucket, Insecure = true,
                AccessKeySecret = new SecretKeySelector { Name = "s3-cred", Key = "accessKey" },
                SecretKeySecret = new SecretKeySelector { Name = "s3-cred", Key = "secretKey" },
            },
        };
    }

    private async Task<TestEngine> StartAsync(TimeProvider? time = null, string? dataDir = null)
    {
        var engine = await TestEngine.StartAsync(time: time, dataDir: dataDir, configure: Configure);
        _engines.Add(engine);
        await engine.Engine.ApplyAsync(ManifestReader.Read($$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: s3-cred, namespace: ci}
            stringData: {accessKey: {{S3Server.AccessKey}}, secretKey: {{S3Server.SecretKey}}}
            """, "secret.yaml"));
        return engine;
    }

    private static Workflow Parse(string yaml) => ManifestReader.Read(yaml, "wf.yaml").OfType<Workflow>().Single();

    private const string OneStep = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: pods, namespace: ci}
        spec:
          entrypoint: main
          serviceAccountName: runner
          nodeSelector: {disk: ssd}
          podMetadata: {labels: {team: a}}
          volumes: [{name: cache, emptyDir: {}}]
          podGC: {strategy: OnPodSuccess}
          templates:
            - name: main
              metadata: {annotations: {note: hi}}
              tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
              affinity:
                nodeAffinity:
                  requiredDuringSchedulingIgnoredDuringExecution:
                    nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
              securityContext: {runAsUser: 1000}
              container:
                image: alpine:3.20
                command: [sh, -c]
                args: ["echo hello; echo 42 > /tmp/answer"]
                env:
                  - {name: GREETING, value: hi}
                  - name: TOKEN
                    valueFrom: {secretKeyRef: {name: s3-cred, key: accessKey}}
                resources: {limits: {memory: 64Mi, cpu: 500m}, requests: {cpu: 100m}}
                volumeMounts: [{name: cache, mountPath: /cache}]
              outputs:
                parameters: [{name: answer, valueFrom: {path: /tmp/answer}}]
                artifacts: [{name: report, path: /tmp/report, archive: {none: {}}}]
        """;

    private Task<JsonObject> PodAsync(string ns = "ci") =>
        Eventually.Get(() => Task.FromResult(_api.List("pods", ns).SingleOrDefault()), "the step's pod", TestEngine.Patience);

    private Task PodGoneAsync(string name, string ns = "ci") =>
        Eventually.Get(() => Task.FromResult(_api.Get("pods", ns, name) is null ? "" : null), $"pod {name} deleted", TestEngine.Patience);

    private static string NameOf(JsonObject pod) => pod["metadata"]!["name"]!.GetValue<string>();

    private static JsonObject Container(JsonObject pod, string name) =>
        pod["spec"]!["containers"]!.AsArray().OfType<JsonObject>().Single(c => c["name"]!.GetValue<string>() == name);

    private static string? EnvOf(JsonObject container, string name) =>
        container["env"]?.AsArray().OfType<JsonObject>().FirstOrDefault(e => e["name"]!.GetValue<string>() == name)?["value"]?.GetValue<string>();

    private static byte[] Tar(params (string Name, string Content)[] files)
    {
        using var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, content) in files)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        return ms.ToArray();
    }

    /// <summary>What the pod's upload container does: PUT the outputs' tar to the URL the pod was given.</summary>
    private async Task UploadAsync(JsonObject pod, params (string Name, string Content)[] files)
    {
        var url = EnvOf(Container(pod, PodManifest.WaitContainer), "EGW_OUTPUTS_URL")!;
        using var put = await _http.PutAsync(url, new ByteArrayContent(Tar(files)));
        put.IsSuccessStatusCode.ShouldBeTrue(await put.Content.ReadAsStringAsync());
    }

    private static async Task<Workflow> WaitAsync(TestEngine engine, Workflow wf)
    {
        using var cts = new CancellationTokenSource(TestEngine.Patience);
        return await engine.Engine.WaitAsync(wf, cts.Token);
    }

    [Fact]
    public async Task A_step_is_a_pod_from_its_template_and_succeeds_with_its_outputs_logs_and_podGC()
    {
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse(OneStep));
        var pod = await PodAsync();
        var name = NameOf(pod);

        // The pod spec: the template's fields, the workflow's pod-level fields, Argo's label, the step's label.
        var meta = pod["metadata"]!;
        meta["labels"]![PodManifest.WorkflowLabel]!.GetValue<string>().ShouldBe("pods");
        meta["labels"]![PodManifest.StepLabel]!.GetValue<string>().Length.ShouldBe(24);
        meta["labels"]!["team"]!.GetValue<string>().ShouldBe("a");
        meta["annotations"]!["note"]!.GetValue<string>().ShouldBe("hi");
        meta["annotations"]![PodManifest.NodeIdAnnotation]!.GetValue<string>().ShouldStartWith("pods");
        var spec = pod["spec"]!;
        spec["restartPolicy"]!.GetValue<string>().ShouldBe("Never");
        spec["serviceAccountName"]!.GetValue<string>().ShouldBe("runner");
        spec["nodeSelector"]!["disk"]!.GetValue<string>().ShouldBe("ssd");
        spec["tolerations"]![0]!["key"]!.GetValue<string>().ShouldBe("gpu");
        spec["affinity"]!["nodeAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!["nodeSelectorTerms"]![0]!["matchExpressions"]![0]!["key"]!.GetValue<string>().ShouldBe("zone");
        spec["securityContext"]!["runAsUser"]!.GetValue<long>().ShouldBe(1000);
        spec["volumes"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ShouldBe(["cache", "egw-run"]);
        var main = Container(pod, "main");
        main["image"]!.GetValue<string>().ShouldBe("alpine:3.20");
        main["command"]!.AsArray().Select(a => a!.GetValue<string>()).Take(2).ShouldBe(["/bin/sh", "-c"]);
        main["args"]!.AsArray().Select(a => a!.GetValue<string>()).ShouldBe(["sh", "-c", "echo hello; echo 42 > /tmp/answer"]);
        EnvOf(main, "GREETING").ShouldBe("hi");
        var token = main["env"]!.AsArray().OfType<JsonObject>().Single(e => e["name"]!.GetValue<string>() == "TOKEN");
        token["value"].ShouldBeNull(); // the kubelet resolves the Secret: its value is never written into the pod
        token["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>().ShouldBe("s3-cred");
        EnvOf(main, "EGW_OUTPUTS").ShouldBe("tmp/answer\ntmp/report");
        main["resources"]!["limits"]!["memory"]!.GetValue<string>().ShouldBe("64Mi");
        main["resources"]!["requests"]!["cpu"]!.GetValue<string>().ShouldBe("100m");
        main["volumeMounts"]!.AsArray().Select(m => m!["mountPath"]!.GetValue<string>()).ShouldBe(["/cache", PodManifest.RunDir]);
        var wait = Container(pod, PodManifest.WaitContainer);
        wait["image"]!.GetValue<string>().ShouldBe(new PodExecutorOptions().UploadImage);
        EnvOf(wait, "EGW_OUTPUTS_URL")!.ShouldStartWith($"http://{_s3.Endpoint}/{Bucket}/egw-pod-outputs/");

        // The kubelet starts it; its log is followed while it runs.
        _api.SetPod("ci", name, "Running", ("main", Running()), (PodManifest.WaitContainer, Running()));
        _api.WriteLog("ci", name, "main", "hello\n");
        var node = await Eventually.Get(async () => (await engine.Engine.Store.GetAsync<Workflow>("ci", "pods"))?.Status?.Nodes?.Values.FirstOrDefault(n => n.Type == NodeType.Pod), "the pod node");
        var logPath = engine.Engine.Executor.LogPath(new EventGateway.Workflows.Execution.StepKey("ci", "pods", node.Id), "stdout");
        await Eventually.Get(() => Task.FromResult(File.Exists(logPath) && File.ReadAllText(logPath) == "hello\n" ? "" : null), "the log followed while the pod runs", TestEngine.Patience);
        _api.WriteLog("ci", name, "main", "bye\n");

        await UploadAsync(pod, ("tmp/answer", "42\n"), ("tmp/report/summary.txt", "all good"));
        _api.SetPod("ci", name, "Succeeded", ("main", Terminated(0)), (PodManifest.WaitContainer, Terminated(0)));

        var done = await WaitAsync(engine, wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", done.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        node = done.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Outputs!.Parameters!.Single(p => p.Name == "answer").Value.ShouldBe("42");
        node.Outputs.ExitCode.ShouldBe("0");
        var report = node.Outputs.Artifacts!.Single(a => a.Name == "report");
        var saved = await _s3.Client.GetObjectAsync(Bucket, $"{report.S3!.Key!.TrimEnd('/')}/summary.txt");
        using (var reader = new StreamReader(saved.ResponseStream)) (await reader.ReadToEndAsync()).ShouldBe("all good");
        engine.Logs(done, node).ShouldBe("hello\nbye\n"); // what `egw logs` and the logs API read
        (await _s3.Client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = Bucket, Prefix = "egw-pod-outputs/" })).S3Objects.ShouldBeNull(); // the staged tar is removed once unpacked (the SDK gives null for none)

        await PodGoneAsync(name); // podGC OnPodSuccess: deleted through the API
        _api.Requests.Count(r => r.Method == "DELETE" && r.Path.EndsWith("/pods/" + name, StringComparison.Ordinal)).ShouldBeGreaterThan(0);

        // deploy/kubernetes/cluster/rbac-step-pods.yaml, bound in the workflow's namespace, allows every request the
        // executor made (create, get, list, watch, delete of pods, pods/log): the optional role is enough, checked.
        var docs = KubernetesRbac.Load(DeployDir()).Documents;
        var podRights = KubernetesRbac.GrantsOf([.. docs.Where(d => d["metadata"]!["name"]!.GetValue<string>() == "egw-step-pods")], "egw")
            .Select(g => g with { Namespace = "ci" }).ToList();
        var asked = _api.Requests.Select(KubernetesRbac.AsGrant).OfType<KubernetesRbac.Grant>().Distinct().ToList();
        asked.Select(a => a.Verb).ShouldContain("create");
        asked.Where(a => !podRights.Any(g => g.Group == a.Group && g.Resource == a.Resource && g.Verb == a.Verb && g.Namespace == a.Namespace))
            .ShouldBeEmpty("requests of steps as pods that rbac-step-pods.yaml does not allow");
    }

    private static string DeployDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "deploy", "kubernetes", "cluster"))) return Path.Combine(dir.FullName, "deploy", "kubernetes", "cluster");
        throw new DirectoryNotFoundException("deploy/kubernetes/cluster above " + AppContext.BaseDirectory);
    }

    [Fact]
    public async Task A_failing_exit_code_fails_the_node_with_Argos_message_and_podGC_OnPodSuccess_keeps_the_pod()
    {
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: fails, namespace: ci}
            spec:
              entrypoint: main
              podGC: {strategy: OnPodSuccess}
              templates:
                - name: main
                  container: {image: alpine:3.20, command: [sh, -c, "exit 3"]}
            """));
        var pod = await PodAsync();
        pod["spec"]!["containers"]!.AsArray().Count.ShouldBe(1); // no outputs: no wrapper, no upload container
        Container(pod, "main")["command"]!.AsArray().Select(a => a!.GetValue<string>()).ShouldBe(["sh", "-c", "exit 3"]);
        _api.SetPod("ci", NameOf(pod), "Running", ("main", Running()));
        _api.SetPod("ci", NameOf(pod), "Failed", ("main", Terminated(3)));

        var done = await WaitAsync(engine, wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var node = done.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("Error (exit code 3)");
        node.Outputs!.ExitCode.ShouldBe("3");
        _api.Get("pods", "ci", NameOf(pod)).ShouldNotBeNull(); // OnPodSuccess leaves a failed pod for inspection
    }

    private const string Patched = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: patched, namespace: ci}
        spec:
          entrypoint: main
          podSpecPatch: '{"priorityClassName": "batch"}'
          hostAliases: [{ip: 10.0.0.7, hostnames: [registry.local]}]
          templates:
            - name: main
              podSpecPatch: '{"containers": [{"name": "main", "resources": {"limits": {"memory": "64Mi"}}}]}'
              container: {image: alpine:3.20, command: [true]}
        """;

    [Fact]
    public async Task Pod_only_fields_are_accepted_when_steps_are_pods_and_reach_the_pod_while_other_executors_refuse_them()
    {
        // Sandboxed processes cannot honour them: refused at load, by field.
        var refused = Should.Throw<ManifestException>(() => Parse(Patched));
        refused.Errors.Select(e => e.Path).ShouldBe(["spec.podSpecPatch", "spec.hostAliases", "spec.templates[0].podSpecPatch"], ignoreOrder: true);

        // Steps as pods: the service's parser and its submitter accept them, and the pod carries them.
        var engine = await StartAsync();
        var parser = ManifestReader.ParserFor(cluster: false, pods: true);
        engine.Engine.Parser.ShouldBeSameAs(parser);
        var wf = await engine.Engine.SubmitAsync(parser.Read(Patched, "wf.yaml").OfType<Workflow>().Single());
        var pod = await PodAsync();
        pod["spec"]!["priorityClassName"]!.GetValue<string>().ShouldBe("batch");
        pod["spec"]!["hostAliases"]![0]!["hostnames"]![0]!.GetValue<string>().ShouldBe("registry.local");
        Container(pod, "main")["resources"]!["limits"]!["memory"]!.GetValue<string>().ShouldBe("64Mi");
        _api.SetPod("ci", NameOf(pod), "Succeeded", ("main", Terminated(0)), (PodManifest.WaitContainer, Terminated(0)));
        (await WaitAsync(engine, wf)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    [Fact]
    public async Task ErrImagePull_surfaces_as_the_nodes_message_and_the_pod_is_deleted()
    {
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: pull, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  container: {image: nosuch/image:1, command: [true]}
            """));
        var pod = await PodAsync();
        _api.SetPod("ci", NameOf(pod), "Pending", ("main", Waiting("ErrImagePull", "pull access denied for nosuch/image, repository does not exist")));

        var done = await WaitAsync(engine, wf);
        var node = done.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe("ErrImagePull: pull access denied for nosuch/image, repository does not exist");
        await PodGoneAsync(NameOf(pod));
    }

    [Fact]
    public async Task A_deadline_deletes_the_pod_and_says_why_it_never_started()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        var engine = await StartAsync(time);
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: slow, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  activeDeadlineSeconds: 30
                  container: {image: alpine:3.20, command: [sleep, "3600"]}
            """));
        var pod = await PodAsync();
        _api.SetPodCondition("ci", NameOf(pod), "PodScheduled", "False", "Unschedulable", "0/3 nodes are available: 3 Insufficient memory.");
        // The clock moves only while the test waits for the pod to go: the deadline passes on the fake clock.
        await Eventually.Get(() => Task.FromResult(_api.Get("pods", "ci", NameOf(pod)) is null ? "" : null), "the pod deleted at its deadline",
            TestEngine.Patience, () => time.Advance(TimeSpan.FromSeconds(1)));
        var done = await Eventually.Get(async () => await engine.Engine.Store.GetAsync<Workflow>("ci", "slow") is { Status.IsCompleted: true } w ? w : null,
            "the workflow completed", TestEngine.Patience, () => time.Advance(TimeSpan.FromMilliseconds(250)));
        var node = done.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("Pod was active on the node longer than the specified deadline (it never started: Unschedulable: 0/3 nodes are available: 3 Insufficient memory.)");
        _ = wf;
    }

    [Fact]
    public async Task A_restarted_service_adopts_the_running_pod_by_its_label_and_creates_no_second_one()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-pods-").FullName;
        var first = await StartAsync(dataDir: dataDir);
        var wf = await first.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: adopt, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  container: {image: alpine:3.20, command: [sh, -c, "echo 7 > /tmp/n"]}
                  outputs: {parameters: [{name: n, valueFrom: {path: /tmp/n}}]}
            """));
        var pod = await PodAsync();
        _api.SetPod("ci", NameOf(pod), "Running", ("main", Running()), (PodManifest.WaitContainer, Running()));
        await first.Engine.DisposeAsync(); // the service stops; the pod runs on
        _engines.Remove(first);
        var listsBefore = _api.Requests.Count(r => r.Method == "GET" && r.Query.Contains("labelSelector", StringComparison.Ordinal));

        var second = await StartAsync(dataDir: dataDir);
        await Eventually.Get(() => Task.FromResult(_api.Requests.Count(r => r.Method == "GET" && r.Query.Contains("labelSelector", StringComparison.Ordinal)) > listsBefore ? "" : null),
            "the restarted service to look for the step's pod by label", TestEngine.Patience);
        _api.WriteLog("ci", NameOf(pod), "main", "adopted\n");
        await UploadAsync(pod, ("tmp/n", "7\n"));
        _api.SetPod("ci", NameOf(pod), "Succeeded", ("main", Terminated(0)), (PodManifest.WaitContainer, Terminated(0)));

        var done = await WaitAsync(second, wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", done.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        done.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod).Outputs!.Parameters!.Single().Value.ShouldBe("7");
        _api.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/pods", StringComparison.Ordinal)).ShouldBe(1);
        _api.List("pods", "ci").Count.ShouldBe(1);
    }

    [Fact]
    public async Task A_sidecar_is_a_native_sidecar_of_the_steps_pod_and_its_log_is_kept_under_the_pod()
    {
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: side, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  container: {image: alpine:3.20, command: [sh, -c, "nc -z localhost 5432"]}
                  sidecars:
                    - {name: db, image: postgres:16, command: [postgres]}
            """));
        var pod = await PodAsync();
        _api.List("pods", "ci").Count.ShouldBe(1); // one pod: the sidecar is in it, not a pod of its own
        var db = pod["spec"]!["initContainers"]!.AsArray().OfType<JsonObject>().Single();
        (db["name"]!.GetValue<string>(), db["restartPolicy"]!.GetValue<string>(), db["image"]!.GetValue<string>()).ShouldBe(("db", "Always", "postgres:16"));
        _api.SetPod("ci", NameOf(pod), "Running", ("db", Running()), ("main", Running()));
        _api.WriteLog("ci", NameOf(pod), "db", "database system is ready to accept connections\n");
        _api.SetPod("ci", NameOf(pod), "Succeeded", ("main", Terminated(0)), ("db", Terminated(0)));

        var done = await WaitAsync(engine, wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", done.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        var node = done.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        var sidecarLog = engine.Engine.Executor.LogPath(new EventGateway.Workflows.Execution.StepKey("ci", "side", $"{node.Id}/db"), "stdout");
        await Eventually.Get(() => Task.FromResult(File.Exists(sidecarLog) && File.ReadAllText(sidecarLog).Contains("ready to accept", StringComparison.Ordinal) ? "" : null),
            "the sidecar's log", TestEngine.Patience);
        _api.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/pods", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task Input_artifacts_reach_the_pod_through_its_init_container_from_one_staged_object()
    {
        await _s3.PutAsync(Bucket, "in/data.txt", "payload");
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: inputs, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  inputs:
                    artifacts: [{name: data, path: /tmp/data.txt, s3: {key: in/data.txt}}]
                  container: {image: alpine:3.20, command: [cat, /tmp/data.txt]}
            """));
        var pod = await PodAsync();
        var init = pod["spec"]!["initContainers"]!.AsArray().OfType<JsonObject>().Single();
        init["name"]!.GetValue<string>().ShouldBe(PodManifest.InitContainer);
        var mount = Container(pod, "main")["volumeMounts"]!.AsArray().OfType<JsonObject>().Single(m => m["name"]!.GetValue<string>() == "egw-inputs");
        (mount["mountPath"]!.GetValue<string>(), mount["subPath"]!.GetValue<string>()).ShouldBe(("/tmp/data.txt", "in0"));

        // The init container's script, run for real (sh, curl, tar) against s3rver, unpacks what main then mounts.
        var unpacked = Directory.CreateTempSubdirectory("egw-inputs-").FullName;
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardError = true };
        foreach (var a in init["command"]!.AsArray().Skip(1)) psi.ArgumentList.Add(a!.GetValue<string>().Replace("$$", "$", StringComparison.Ordinal));
        psi.Environment["EGW_INPUTS_URL"] = EnvOf(init, "EGW_INPUTS_URL")!;
        psi.Environment["EGW_INPUTS_DIR"] = unpacked;
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            var err = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            p.ExitCode.ShouldBe(0, err);
        }
        File.ReadAllText(Path.Combine(unpacked, "in0")).ShouldBe("payload");

        _api.SetPod("ci", NameOf(pod), "Running", (PodManifest.InitContainer, Terminated(0)), ("main", Running()));
        _api.WriteLog("ci", NameOf(pod), "main", "payload");
        _api.SetPod("ci", NameOf(pod), "Succeeded", ("main", Terminated(0)));
        var done = await WaitAsync(engine, wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", done.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
        (await _s3.Client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = Bucket, Prefix = "egw-pod-outputs/" })).S3Objects.ShouldBeNull(); // the staged inputs go with the step
    }

    [Fact]
    public async Task An_init_container_that_cannot_load_the_inputs_fails_the_node_with_its_message()
    {
        await _s3.PutAsync(Bucket, "in/data.txt", "payload");
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: badinputs, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  inputs:
                    artifacts: [{name: data, path: /tmp/data.txt, s3: {key: in/data.txt}}]
                  container: {image: alpine:3.20, command: [cat, /tmp/data.txt]}
            """));
        var pod = await PodAsync();
        _api.SetPod("ci", NameOf(pod), "Failed", (PodManifest.InitContainer, Terminated(1, message: "loading input artifacts failed: curl: (6) Could not resolve host: s3")),
            ("main", Waiting("PodInitializing")));
        var done = await WaitAsync(engine, wf);
        var node = done.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe("loading input artifacts failed: curl: (6) Could not resolve host: s3");
    }

    [Fact]
    public async Task Terminate_deletes_the_running_pod()
    {
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: term, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  container: {image: alpine:3.20, command: [sleep, "3600"]}
            """));
        var pod = await PodAsync();
        _api.SetPod("ci", NameOf(pod), "Running", ("main", Running()));
        await Eventually.Get(async () => (await engine.Engine.Store.GetAsync<Workflow>("ci", "term"))?.Status?.Nodes?.Values.Any(n => n.Type == NodeType.Pod && n.Phase == NodePhase.Running) == true ? "" : null,
            "the pod node running", TestEngine.Patience);
        await new EventGateway.Workflows.Controls.WorkflowControls(engine.Engine.Store, TimeProvider.System).TerminateAsync("ci", "term");
        await PodGoneAsync(NameOf(pod));
        var done = await WaitAsync(engine, wf);
        done.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        done.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod).Phase.ShouldBe(NodePhase.Failed);
    }

    [Fact]
    public async Task Egw_refuses_the_kubernetes_executor_without_what_it_needs()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-pods-cli-").FullName;
        var (code, _, stderr) = await Cli.CliTests.Egw(["serve", "--port", "0", "--data-dir", dataDir, "--executor", "kubernetes", "--kubeconfig", _kubeconfig]);
        (code, stderr).ShouldSatisfyAllConditions(() => code.ShouldBe(2), () => stderr.ShouldContain("--executor kubernetes needs an S3 artifact repository"));
        (code, _, stderr) = await Cli.CliTests.Egw(["serve", "--port", "0", "--data-dir", dataDir, "--executor", "kubernetes"]);
        code.ShouldBe(2);
        stderr.ShouldContain("--executor kubernetes needs a cluster: pass --kubernetes (in-cluster config) or --kubeconfig PATH");
        var wfFile = Path.Combine(dataDir, "wf.yaml");
        File.WriteAllText(wfFile, "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\nspec: {entrypoint: m, templates: [{name: m, suspend: {}}]}\n");
        (code, _, stderr) = await Cli.CliTests.Egw(["run", wfFile, "--data-dir", dataDir, "--executor", "kubernetes"]);
        code.ShouldBe(2);
        stderr.ShouldContain("--executor kubernetes is for egw serve");
    }

    [Fact]
    public async Task An_API_server_outage_when_the_step_starts_is_waited_out_and_one_pod_is_made()
    {
        _resync = TimeSpan.FromMilliseconds(100); // the retry interval: the outage ends by itself after two answers
        var engine = await StartAsync();
        _api.FailNext(2, 503);
        var wf = await engine.Engine.SubmitAsync(Parse("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: outage, namespace: ci}
            spec:
              entrypoint: main
              templates:
                - name: main
                  container: {image: alpine:3.20, command: [true]}
            """));
        var pod = await PodAsync();
        _api.Requests.Count(r => r.Status == 503).ShouldBe(2);
        _api.SetPod("ci", NameOf(pod), "Succeeded", ("main", Terminated(0)));
        (await WaitAsync(engine, wf)).Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        _api.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/pods", StringComparison.Ordinal)).ShouldBe(1);
    }

    private const string WithOutput = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: NAME, namespace: ci}
        spec:
          entrypoint: main
          templates:
            - name: main
              container: {image: alpine:3.20, command: [sh, -c, "echo 1 > /tmp/o"]}
              outputs: {parameters: [{name: o, valueFrom: {path: /tmp/o}}]}
        """;

    [Fact]
    public async Task A_failed_upload_is_the_nodes_message()
    {
        var engine = await StartAsync();
        var wf = await engine.Engine.SubmitAsync(Parse(WithOutput.Replace("NAME", "upfail", StringComparison.Ordinal)));
        var pod = await PodAsync();
        _api.SetPod("ci", NameOf(pod), "Failed", ("main", Terminated(0)),
            (PodManifest.WaitContainer, Terminated(1, message: "uploading outputs failed: curl: (7) Failed to connect to s3 port 9000")));
        var node = (await WaitAsync(engine, wf)).Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe("failed to save outputs: uploading outputs failed: curl: (7) Failed to connect to s3 port 9000");
    }

    [Fact]
    public async Task Outputs_never_uploaded_after_main_ended_fail_the_node_after_the_upload_grace_and_delete_the_pod()
    {
        var time = new ParkingFakeTimeProvider(DateTimeOffset.UtcNow);
        var engine = await StartAsync(time);
        await engine.Engine.SubmitAsync(Parse(WithOutput.Replace("NAME", "nowait", StringComparison.Ordinal)));
        var pod = await PodAsync();
        _api.SetPod("ci", NameOf(pod), "Running", ("main", Terminated(137, "Error")), (PodManifest.WaitContainer, Running()));
        await Eventually.Get(() => Task.FromResult(_api.Get("pods", "ci", NameOf(pod)) is null ? "" : null), "the pod deleted after the upload grace",
            TestEngine.Patience, () => time.Advance(TimeSpan.FromSeconds(10)));
        var done = await Eventually.Get(async () => await engine.Engine.Store.GetAsync<Workflow>("ci", "nowait") is { Status.IsCompleted: true } w ? w : null,
            "the workflow completed", TestEngine.Patience, () => time.Advance(TimeSpan.FromMilliseconds(250)));
        var node = done.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Phase.ShouldBe(NodePhase.Error);
        node.Message.ShouldBe($"main ended and its outputs were not uploaded within {new PodExecutorOptions().UploadGrace}");
    }

    [Fact]
    public void Without_an_S3_artifact_repository_the_service_refuses_to_start()
    {
        var options = new EventGatewayOptions { DataDir = Path.GetTempPath(), Pods = new PodExecutorOptions { Cluster = new KubernetesOptions { Kubeconfig = _kubeconfig } } };
        Should.Throw<ArgumentException>(options.Validate).Message.ShouldContain("--executor kubernetes needs an S3 artifact repository");
        options = new EventGatewayOptions { DataDir = Path.GetTempPath(), Pods = new PodExecutorOptions() };
        Configure(options);
        options.Pods!.Cluster = null;
        Should.Throw<ArgumentException>(options.Validate).Message.ShouldContain("--executor kubernetes needs a cluster");
    }
}
