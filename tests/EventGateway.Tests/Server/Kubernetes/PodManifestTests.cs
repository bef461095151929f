using System.Diagnostics;
using System.Text.Json.Nodes;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Server.Kubernetes.Pods;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;

namespace EventGateway.Tests.Server.Kubernetes;

/// <summary>
/// The pod a step becomes (<see cref="PodManifest"/>) for what the end-to-end tests do not reach, and the output path
/// of a pod (<see cref="PodOutputs"/>) run for real: the wrapper and the upload script under /bin/sh with tar and curl,
/// uploading to s3rver through a presigned URL, then unpacked by egw.
/// </summary>
public sealed class PodManifestTests
{
    private static readonly StepKey Key = new("ci", "wf", "wf-123");

    private static Template TemplateOf(string yaml)
    {
        var wf = ManifestReader.Read($"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {"{"}name: wf{"}"}
            spec:
              entrypoint: main
              templates:
            {string.Join('\n', yaml.Split('\n').Select(l => "    " + l))}
            """, "wf.yaml").OfType<Workflow>().Single();
        return wf.Spec.Templates!.Single();
    }

    private static StepSpec Spec(Template t, IReadOnlyList<StagedFile>? files = null, ImageCommand? command = null, string? podSpecPatch = null) =>
        new(Key, t.Container?.Image ?? t.Script?.Image ?? "", [], null, new Dictionary<string, string>(), files ?? [], null)
        {
            Template = t, WorkflowSpec = new WorkflowSpec { PodSpecPatch = podSpecPatch }, Container = command,
        };

    private static JsonObject MainOf(JsonObject pod) => pod["spec"]!["containers"]!.AsArray().OfType<JsonObject>().Single(c => c["name"]!.GetValue<string>() == "main");

    private static List<string> Strings(JsonNode? n) => n!.AsArray().Select(a => a!.GetValue<string>()).ToList();

    [Fact]
    public void A_script_runs_its_staged_source_through_the_wrapper_with_kubernetes_escapes()
    {
        var t = TemplateOf("""
            - name: main
              script: {image: python:3.12, command: [python], source: "print('$(HOME)')"}
            """);
        var (pod, error) = PodManifest.Build(Spec(t, [new StagedFile(StepSpecBuilder.ScriptPath, null, "print('$(HOME)')", 0b111_101_101)],
            new ImageCommand(["python"], [StepSpecBuilder.ScriptPath])), "wf-abc", "step", "inst", outputs: null);
        error.ShouldBeNull();
        var main = MainOf(pod!);
        main["source"].ShouldBeNull();
        Strings(main["command"])[..2].ShouldBe(["/bin/sh", "-c"]);
        Strings(main["command"])[2].ShouldContain("$$(dirname"); // the kubelet turns $$( into $(, so $(VAR) expansion leaves the script alone
        Strings(main["command"])[2].Replace("$$(", "", StringComparison.Ordinal).ShouldNotContain("$(");
        Strings(main["args"]).ShouldBe(["python", StepSpecBuilder.ScriptPath]);
        var env = main["env"]!.AsArray().OfType<JsonObject>().ToDictionary(e => e["name"]!.GetValue<string>(), e => e["value"]!.GetValue<string>());
        env["EGW_FILE_0"].ShouldBe(StepSpecBuilder.ScriptPath);
        env["EGW_FILE_0_CONTENT"].ShouldBe("print('$(HOME)')");
        env["EGW_FILE_0_MODE"].ShouldBe("755");
        Strings(new JsonArray([.. main["volumeMounts"]!.AsArray().Select(m => m!["mountPath"]!.DeepClone())])).ShouldBe([PodManifest.RunDir, "/argo/staging"]);
        pod!["spec"]!["containers"]!.AsArray().Count.ShouldBe(1); // no outputs: no upload container
    }

    [Fact]
    public void Sidecars_are_native_sidecars_so_the_pod_completes_with_main()
    {
        var t = TemplateOf("""
            - name: main
              container: {image: alpine, command: [true], volumeMounts: [{name: v, mountPath: /v}]}
              volumes: [{name: v, emptyDir: {}}]
              sidecars:
                - {name: db, image: postgres:16, command: [postgres], mirrorVolumeMounts: true, env: [{name: POSTGRES_PASSWORD, value: x}]}
            """);
        var (pod, error) = PodManifest.Build(Spec(t), "wf-abc", "step", "inst", outputs: null);
        error.ShouldBeNull();
        var db = pod!["spec"]!["initContainers"]!.AsArray().OfType<JsonObject>().Single();
        db["name"]!.GetValue<string>().ShouldBe("db");
        db["restartPolicy"]!.GetValue<string>().ShouldBe("Always");
        db["mirrorVolumeMounts"].ShouldBeNull();
        db["volumeMounts"]![0]!["mountPath"]!.GetValue<string>().ShouldBe("/v");
    }

    [Fact]
    public void PodSpecPatch_merges_containers_by_name_as_a_strategic_merge_patch_does()
    {
        var t = TemplateOf("""
            - name: main
              container: {image: alpine, command: [true], resources: {limits: {memory: 1Gi}}}
            """);
        var (pod, error) = PodManifest.Build(Spec(t, podSpecPatch: """
            containers:
              - name: main
                resources: {limits: {cpu: "2"}}
            priorityClassName: high
            """), "wf-abc", "step", "inst", outputs: null);
        error.ShouldBeNull();
        var main = MainOf(pod!);
        main["image"]!.GetValue<string>().ShouldBe("alpine");
        main["resources"]!["limits"]!["memory"]!.GetValue<string>().ShouldBe("1Gi");
        main["resources"]!["limits"]!["cpu"]!.GetValue<string>().ShouldBe("2");
        pod!["spec"]!["priorityClassName"]!.GetValue<string>().ShouldBe("high");
        pod["spec"]!["containers"]!.AsArray().Count.ShouldBe(1);

        PodManifest.Build(Spec(t, podSpecPatch: "[1, 2]"), "wf-abc", "step", "inst", null).Error.ShouldBe("podSpecPatch: not a YAML or JSON object");
    }

    [Fact]
    public void What_a_pod_cannot_do_is_refused_with_the_reason()
    {
        var t = TemplateOf("""
            - name: main
              container: {image: my/tool}
              outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
            """);
        PodManifest.Build(Spec(t), "wf-abc", "step", "inst", new PodManifest.Outputs(["/tmp/p"], "http://x", "curl")).Error!
            .ShouldContain("no command; --executor kubernetes wraps the command to collect them and cannot know image 'my/tool''s entrypoint");
        PodManifest.Build(Spec(t, [new StagedFile("/tmp/in", "/host/file", null)]), "wf-abc", "step", "inst", null).Error!
            .ShouldBe("input artifact at /tmp/in: no URL to fetch the step's inputs from");
    }

    [Fact]
    public void Pod_names_fit_a_hostname_label_and_stay_the_same_for_a_step()
    {
        var step = PodManifest.StepOf("/data", Key);
        PodManifest.StepOf("/data", Key).ShouldBe(step);
        PodManifest.StepOf("/other", Key).ShouldNotBe(step); // another service's pods are never adopted
        PodManifest.NameOf(new string('w', 200), step).Length.ShouldBeLessThanOrEqualTo(63);
    }

    /// <summary>The kubelet's $(VAR) expansion, reduced to what the scripts rely on: $$ is $.</summary>
    private static string Kubelet(string s) => s.Replace("$$", "$", StringComparison.Ordinal);

    private static async Task<(int Code, string Output)> ShAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task The_wrapper_and_the_upload_container_carry_outputs_to_S3_where_egw_unpacks_them()
    {
        await using var s3 = await S3Server.StartAsync("artifacts");
        var work = Directory.CreateTempSubdirectory("egw-wrapper-").FullName;
        var run = Directory.CreateDirectory(Path.Combine(work, "run")).FullName;
        var script = Path.Combine(work, "staging", "script");
        var t = TemplateOf("""
            - name: main
              script: {image: alpine, command: [sh], source: x}
              outputs:
                parameters: [{name: answer, valueFrom: {path: WORK/answer}}]
                artifacts: [{name: report, path: WORK/report}, {name: missing, path: WORK/missing, optional: true}]
            """.Replace("WORK", work, StringComparison.Ordinal));
        var repo = S3BucketRepository.Open(new S3ArtifactLocation { Endpoint = s3.Endpoint, Bucket = "artifacts", Insecure = true }, (S3Server.AccessKey, S3Server.SecretKey, null));
        var key = PodOutputs.StagingKey("prefix", "step");
        var url = repo.PresignPut(key, DateTime.UtcNow.AddMinutes(10));
        var spec = Spec(t, [new StagedFile(script, null, $"echo from the script; echo 42 > {work}/answer; mkdir {work}/report; echo ok > {work}/report/r.txt; exit 3", 0b111_101_101)],
            new ImageCommand(["sh"], [script]));
        spec = spec with { OutputPaths = StepSpecBuilder.OutputPathsOf(t) };
        var (pod, error) = PodManifest.Build(spec, "wf-abc", "step", "inst", new PodManifest.Outputs(spec.OutputPaths, url, "curl"));
        error.ShouldBeNull();

        JsonObject ContainerOf(string name) => pod!["spec"]!["containers"]!.AsArray().OfType<JsonObject>().Single(c => c["name"]!.GetValue<string>() == name);
        Dictionary<string, string> EnvOf(JsonObject c) => c["env"]!.AsArray().OfType<JsonObject>().ToDictionary(e => e["name"]!.GetValue<string>(), e => e["value"]!.GetValue<string>());
        var main = ContainerOf("main");
        var mainEnv = EnvOf(main);
        mainEnv["EGW_RUN_DIR"] = run;
        var (code, output) = await ShAsync([.. Strings(main["command"]).Select(Kubelet), .. Strings(main["args"])], mainEnv);
        code.ShouldBe(3, output); // the command's exit code, after the outputs were archived
        output.ShouldContain("from the script");
        File.Exists(Path.Combine(run, "done")).ShouldBeTrue();

        var wait = ContainerOf(PodManifest.WaitContainer);
        var waitEnv = EnvOf(wait);
        waitEnv["EGW_RUN_DIR"] = run;
        waitEnv["EGW_TERMINATION_LOG"] = Path.Combine(work, "termination-log");
        (code, output) = await ShAsync([.. Strings(wait["command"]).Select(Kubelet)], waitEnv);
        code.ShouldBe(0, output);

        var dir = Directory.CreateDirectory(Path.Combine(work, "node")).FullName;
        (await PodOutputs.FetchAsync(repo, key, dir, CancellationToken.None)).ShouldBeTrue();
        File.ReadAllText(ConfinedPath.Resolve(Path.Combine(dir, "root"), $"{work}/answer")).ShouldBe("42\n");
        File.ReadAllText(ConfinedPath.Resolve(Path.Combine(dir, "root"), $"{work}/report/r.txt")).ShouldBe("ok\n");
        File.Exists(ConfinedPath.Resolve(Path.Combine(dir, "root"), $"{work}/missing")).ShouldBeFalse();
        (await PodOutputs.FetchAsync(repo, key, dir, CancellationToken.None)).ShouldBeFalse(); // taken once, then removed

        // A URL the repository refuses: the upload container fails and says why in its termination message.
        waitEnv["EGW_OUTPUTS_URL"] = url.Replace("/artifacts/", "/no-such-bucket/", StringComparison.Ordinal);
        (code, _) = await ShAsync([.. Strings(wait["command"]).Select(Kubelet)], waitEnv);
        code.ShouldBe(1);
        File.ReadAllText(waitEnv["EGW_TERMINATION_LOG"]).ShouldStartWith("uploading outputs failed: curl: (22)");
    }
}
