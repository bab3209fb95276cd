console.log('planner_page');
