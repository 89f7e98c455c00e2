namespace CxEngine;

/// <summary>A tier name that the catalog does not hold. Maps to INVALID_ARGUMENT at the edge.</summary>
[GenerateSerializer, Alias("cx.UnknownTierException")]
public sealed class UnknownTierException : Exception
{
    public UnknownTierException(string tier, string known)
        : base($"unknown tier '{tier}'; known tiers: {known}")
    {
        Tier = tier;
    }

    public UnknownTierException()
    {
        Tier = "";
    }

    public UnknownTierException(string message, Exception innerException)
        : base(message, innerException)
    {
        Tier = "";
    }

    [Id(0)] public string Tier { get; private set; }
}

/// <summary>Storage could not take a write; nothing was changed and the call is safe to retry. Maps to UNAVAILABLE.</summary>
[GenerateSerializer, Alias("cx.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No action has this id. Maps to NOT_FOUND.</summary>
[GenerateSerializer, Alias("cx.ActionNotFoundException")]
public sealed class ActionNotFoundException : Exception
{
    public ActionNotFoundException()
    {
    }

    public ActionNotFoundException(string message)
        : base(message)
    {
    }

    public ActionNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The action exists but cannot make this change from where it is. Maps to FAILED_PRECONDITION.</summary>
[GenerateSerializer, Alias("cx.ActionTransitionException")]
public sealed class ActionTransitionException : Exception
{
    public ActionTransitionException()
    {
    }

    public ActionTransitionException(string message)
        : base(message)
    {
    }

    public ActionTransitionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A tier policy the model cannot run, naming the setting (<see cref="Error"/>). Maps to INVALID_ARGUMENT.</summary>
[GenerateSerializer, Alias("cx.InvalidPolicyException")]
public sealed class InvalidPolicyException : Exception
{
    public InvalidPolicyException()
    {
    }

    public InvalidPolicyException(FieldError error)
        : base(error.ToString())
    {
        Error = error;
    }

    public InvalidPolicyException(string message)
        : base(message)
    {
        Error = new FieldError("", message);
    }

    public InvalidPolicyException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = new FieldError("", message);
    }

    [Id(0)]
    public FieldError Error { get; private set; }
}
