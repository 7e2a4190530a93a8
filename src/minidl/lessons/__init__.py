"""The lessons: the three twins (scratch, concise, manual), their contracts, activations, dropout masks; torch only."""
