using EventGateway.Model;
using EventGateway.Workflows.Artifacts;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    private static readonly string[] ArtifactGCStrategies = [ArtifactGC.OnWorkflowCompletion, ArtifactGC.OnWorkflowDeletion, ArtifactGC.Never];

    /// <summary>artifactGC strategies, archive strategies and artifacts' own s3 locations, workflow-wide and per template.</summary>
    private static void ValidateArtifacts(WorkflowSpec spec, string at, Action<string, string> fail)
    {
        ValidateArtifactGC(spec.ArtifactGC, $"{at}.artifactGC", fail);
        var templates = spec.Templates ?? [];
        for (var i = 0; i < templates.Count; i++)
        {
            ValidateArtifactList(templates[i].Inputs?.Artifacts, $"{at}.templates[{i}].inputs.artifacts", fail);
            ValidateArtifactList(templates[i].Outputs?.Artifacts, $"{at}.templates[{i}].outputs.artifacts", fail);
        }
    }

    private static void ValidateArtifactList(List<Artifact>? artifacts, string at, Action<string, string> fail)
    {
        for (var j = 0; j < (artifacts?.Count ?? 0); j++)
        {
            var a = artifacts![j];
            if (ArtifactArchive.Parse(a.Archive).Error is { } error) fail($"{at}[{j}].archive", error);
            ValidateArtifactGC(a.ArtifactGC, $"{at}[{j}].artifactGC", fail);
            if (a.S3 is { } s3) ArtifactRepositories.ValidateLocation(s3, $"{at}[{j}].s3", requireBucket: false, fail);
        }
    }

    private static void ValidateArtifactGC(ArtifactGC? gc, string at, Action<string, string> fail)
    {
        if (gc?.Strategy is { Length: > 0 } s && !ArtifactGCStrategies.Contains(s))
            fail($"{at}.strategy", $"'{s}' is not one of {string.Join(", ", ArtifactGCStrategies)}");
    }
}
