console.log("train_page");
