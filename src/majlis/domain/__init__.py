"""What majlis does, independent of HTTP: accounts and reach, Spaces, the stage, the audience."""
