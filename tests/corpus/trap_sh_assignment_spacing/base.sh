MODE=slow
