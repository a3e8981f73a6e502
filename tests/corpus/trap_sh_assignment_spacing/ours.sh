MODE=fast
