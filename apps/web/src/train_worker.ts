console.log("train_worker");
