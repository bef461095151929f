using EventGateway.Tests.Support;
using EventGateway.Tests.Workflows.Examples;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// Argo's examples that need argoproj/argosay:v2's own entrypoint (marked `container:` in expectations.yaml, skipped by
/// the local executor's ArgoWorkflowsExampleTests), run with the container executor on a real Podman: the image is an
/// argosay-like one made here and tagged argoproj/argosay:v2, as the YAML names it.
/// </summary>
public sealed class ContainerArgoExampleTests(ArgoExampleEnvironment env, PodmanService podman) : IClassFixture<ArgoExampleEnvironment>, IClassFixture<PodmanService>
{
    public static TheoryData<string> Examples() => ArgoWorkflowsExampleTests.ArgosayInContainers();

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Runs_as_Argos_e2e_runs_it_with_steps_in_their_images(string file)
    {
        await podman.OnceAsync("argosay", async () =>
        {
            await podman.ArgosayImageAsync("egw-test/argosay:1");
            await PodmanService.TagAsync("egw-test/argosay:1", "docker.io/argoproj/argosay:v2");
        });

        await ArgoWorkflowsExampleTests.RunsAsArgosE2eRunsIt(env, file, o => o.ContainerHost = podman.Host);
    }
}
