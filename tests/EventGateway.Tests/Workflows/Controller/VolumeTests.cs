using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Volumes of container and script steps, each as long-lived as Kubernetes would keep it: emptyDir per pod,
/// volumeClaimTemplates per workflow (gone with it), a PersistentVolumeClaim per claim in the store (gone with it).
/// </summary>
public sealed class VolumeTests
{
    private static string TwoSteps(string name, string volumes) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}}}
        spec:
          entrypoint: main
        {{volumes}}
          templates:
          - name: main
            steps:
            - - {name: write, template: write}
            - - {name: read, template: read}
          - name: write
            container:
              image: busybox
              command: [sh, -c, "grep -q ' /mnt/vol ' /proc/mounts && echo {{name}} >> /mnt/vol/log && cat /mnt/vol/log"]
              volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
          - name: read
            container:
              image: busybox
              command: [sh, -c, "cat /mnt/vol/log 2>/dev/null || echo empty"]
              volumeMounts: [{name: workdir, mountPath: /mnt/vol}]
        """;

    [Fact]
    public async Task An_emptyDir_is_mounted_for_one_pod_and_not_shared_with_the_next()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(TwoSteps("empty", "  volumes: [{name: workdir, emptyDir: {}}]"));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "write")).ShouldBe("empty\n");
        t.Logs(wf, TestEngine.Node(wf, "read")).ShouldBe("empty\n");
    }

    [Fact]
    public async Task A_volumeClaimTemplate_is_shared_by_the_workflows_steps_and_removed_with_the_workflow()
    {
        await using var t = await TestEngine.StartAsync();
        var claims = """
              ttlStrategy: {secondsAfterCompletion: 0}
              volumeClaimTemplates:
              - metadata: {name: workdir}
                spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
            """;
        var wf = await t.RunYamlAsync(TwoSteps("claimed", claims));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        t.Logs(wf, TestEngine.Node(wf, "read")).ShouldBe("claimed\n");

        // Deleted by its ttlStrategy: the claim's directory goes with the workflow's others.
        var dir = Path.Combine(t.DataDir, "pods", "default", "claimed");
        await Eventually.Get(() => Task.FromResult(Directory.Exists(dir) ? null : "gone"), $"{dir} to be removed with the workflow");
    }

    private const string Claim = """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: my-existing-volume}
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
        ---

        """;

    private const string ClaimVolume = "  volumes: [{name: workdir, persistentVolumeClaim: {claimName: my-existing-volume}}]";

    [Fact]
    public async Task A_PersistentVolumeClaim_keeps_its_files_across_workflows_until_it_is_deleted()
    {
        await using var t = await TestEngine.StartAsync();
        var first = await t.RunYamlAsync(Claim + TwoSteps("first", ClaimVolume));
        first.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, first.Status.Message);
        var second = await t.RunYamlAsync(TwoSteps("second", ClaimVolume));
        t.Logs(second, TestEngine.Node(second, "read")).ShouldBe("first\nsecond\n");

        (await t.Engine.Store.DeleteAsync<PersistentVolumeClaim>("default", "my-existing-volume")).ShouldBeTrue();
        var gone = await t.RunYamlAsync(TwoSteps("after-delete", ClaimVolume));
        gone.Status!.Phase.ShouldBeOneOf(WorkflowPhase.Failed, WorkflowPhase.Error);
        TestEngine.Node(gone, "write").Message.ShouldBe("container 'write': volume 'workdir': persistentvolumeclaim \"my-existing-volume\" not found in namespace 'default'");

        // Made again, the claim starts empty: its files went with it.
        await t.Engine.ApplyAsync(ManifestReader.Read(Claim, "claim.yaml"));
        var fresh = await t.RunYamlAsync(TwoSteps("fresh", ClaimVolume));
        t.Logs(fresh, TestEngine.Node(fresh, "read")).ShouldBe("fresh\n");
    }

    [Fact]
    public void Mounts_of_volumes_steps_cannot_have_are_refused_at_load_naming_the_field()
    {
        var error = Should.Throw<ManifestException>(() => ManifestReader.Read(TwoSteps("secret", "  volumes: [{name: workdir, secret: {secretName: s}}]"), "secret.yaml"));
        error.Message.ShouldContain("spec.templates[1].container.volumeMounts[0].name: volume 'workdir' is a secret volume, which steps here cannot mount (supported: emptyDir, persistentVolumeClaim, volumeClaimTemplates)");
        var undeclared = Should.Throw<ManifestException>(() => ManifestReader.Read(TwoSteps("undeclared", ""), "undeclared.yaml"));
        undeclared.Message.ShouldContain("spec.templates[1].container.volumeMounts[0].name: volume 'workdir' is not declared");
    }
}
